/*
 * SnapAgent chat widget: a chat bubble for any web page.
 *
 *   <script src="https://snapagent.example.com/widget.js" data-key="pk_…" async></script>
 *
 * `data-key` is a bot's publishable key; `data-api` overrides the server (default: where this
 * script came from). The page's origin must be in the bot's `settings.widget.allowed_origins`.
 * Answers stream in with their sources; the conversation continues across page loads (the
 * session id is kept in localStorage). Everything the server sends is shown as text, never HTML.
 */
(() => {
  const script = document.currentScript;
  const key = script?.dataset.key;
  if (!key) {
    console.error('SnapAgent widget: add data-key="pk_…" to the script tag');
    return;
  }
  const api = (script.dataset.api || new URL(script.src).origin).replace(/\/+$/, '');
  const base = `${api}/api/v1/widget/${encodeURIComponent(key)}`;
  const sessionKey = `snapagent:${key.slice(0, 12)}:session`;

  const host = document.createElement('div');
  host.setAttribute('data-snapagent-widget', '');
  const root = host.attachShadow({ mode: 'open' });
  root.innerHTML = `
    <style>
      :host { all: initial; font: 14px/1.45 system-ui, sans-serif; color: #1f2328; }
      .bubble { position: fixed; right: 20px; bottom: 20px; width: 56px; height: 56px; border-radius: 50%;
        border: 0; background: #2f6feb; color: #fff; cursor: pointer; box-shadow: 0 4px 14px #0004;
        display: grid; place-items: center; }
      .panel { position: fixed; right: 20px; bottom: 88px; width: min(380px, calc(100vw - 40px)); height: 520px;
        max-height: calc(100vh - 120px); display: flex; flex-direction: column; background: #fff;
        border-radius: 12px; box-shadow: 0 8px 30px #0003; overflow: hidden; }
      .panel[hidden] { display: none; }
      header { display: flex; align-items: center; gap: 8px; padding: 12px 16px; background: #2f6feb; color: #fff;
        font-weight: 600; }
      header .title { flex: 1; }
      header button { border: 1px solid #fff8; border-radius: 6px; background: none; color: #fff; font: inherit;
        font-size: 12px; font-weight: 400; padding: 2px 8px; cursor: pointer; }
      .log { flex: 1; overflow-y: auto; margin: 0; padding: 12px; list-style: none; }
      .log li { margin: 0 0 10px; padding: 8px 12px; border-radius: 10px; white-space: pre-wrap; max-width: 85%; }
      .log .user { background: #2f6feb; color: #fff; margin-left: auto; }
      .log .bot { background: #f0f2f5; }
      .log .error { background: #ffebe9; color: #82071e; }
      .sources { margin: 6px 0 0; padding-left: 18px; font-size: 12px; color: #57606a; }
      form { display: flex; gap: 8px; padding: 10px; border-top: 1px solid #d0d7de; }
      input { flex: 1; padding: 8px 10px; border: 1px solid #d0d7de; border-radius: 8px; font: inherit; }
      form button { padding: 8px 14px; border: 0; border-radius: 8px; background: #2f6feb; color: #fff; font: inherit; }
      form button:disabled { opacity: 0.6; }
    </style>
    <section class="panel" role="dialog" aria-label="Chat" hidden>
      <header><span class="title"></span><button class="new" type="button">New chat</button></header>
      <ol class="log" aria-live="polite"></ol>
      <form><input name="q" autocomplete="off" placeholder="Ask a question" aria-label="Your question" maxlength="4000" required>
        <button type="submit">Send</button></form>
    </section>
    <button class="bubble" type="button" aria-label="Open chat"><svg viewBox="0 0 24 24" width="26" height="26"
      aria-hidden="true"><path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0
      1-2-2V6a2 2 0 0 1 2-2z"/></svg></button>`;
  document.body.append(host);

  const panel = root.querySelector('.panel');
  const title = root.querySelector('header .title');
  const log = root.querySelector('.log');
  const form = root.querySelector('form');
  const input = form.querySelector('input');
  const send = form.querySelector('button');
  let configured = false;
  let welcome = null;

  const say = (role, text) => {
    const item = document.createElement('li');
    item.className = role;
    item.textContent = text;
    log.append(item);
    log.scrollTop = log.scrollHeight;
    return item;
  };

  root.querySelector('.bubble').addEventListener('click', async () => {
    panel.hidden = !panel.hidden;
    if (panel.hidden || configured) return;
    configured = true;
    title.textContent = 'Chat';
    try {
      const res = await fetch(`${base}/config`);
      if (!res.ok) throw new Error(`configuration answered ${res.status}`);
      const config = await res.json();
      title.textContent = config.title;
      welcome = config.welcome_message;
      const restored = await restoreConversation();
      if (!restored && welcome) say('bot', welcome);
    } catch (error) {
      // A page whose origin the bot does not allow sees a CORS failure here, not a status.
      console.error('SnapAgent widget:', error);
      say('error', 'The chat is not available on this page.');
    }
    input.focus();
  });

  // A fresh conversation: the next question starts a new session.
  root.querySelector('header .new').addEventListener('click', () => {
    localStorage.removeItem(sessionKey);
    log.replaceChildren();
    if (welcome) say('bot', welcome);
    input.focus();
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const message = input.value.trim();
    if (!message) return;
    input.value = '';
    send.disabled = true;
    say('user', message);
    const answer = say('bot', '');
    let sources = [];
    try {
      const sessionId = localStorage.getItem(sessionKey);
      const res = await fetch(`${base}/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(sessionId ? { message, session_id: sessionId } : { message }),
      });
      if (!res.ok || !res.body) throw new Error(`chat answered ${res.status}`);
      await readEvents(res.body, (name, data) => {
        if (name === 'delta') answer.textContent += data.text;
        else if (name === 'sources') sources = data.sources;
        else if (name === 'done') {
          localStorage.setItem(sessionKey, data.session_id);
          showSources(answer, sources);
        } else if (name === 'error') {
          answer.className = 'error';
          answer.textContent = data.detail;
        }
        log.scrollTop = log.scrollHeight;
      });
    } catch (error) {
      console.error('SnapAgent widget:', error);
      answer.className = 'error';
      answer.textContent = 'The answer could not be fetched; please try again.';
    } finally {
      send.disabled = false;
      input.focus();
    }
  });

  /** Shows this visitor's earlier messages again (after a page load); false when there are none. */
  async function restoreConversation() {
    const sessionId = localStorage.getItem(sessionKey);
    if (!sessionId) return false;
    const res = await fetch(`${base}/sessions/${encodeURIComponent(sessionId)}/messages`);
    if (!res.ok) {
      // Gone (deleted, or another bot's): start afresh.
      if (res.status === 404) localStorage.removeItem(sessionKey);
      return false;
    }
    const { messages } = await res.json();
    for (const message of messages) {
      const item = say(message.role === 'user' ? 'user' : 'bot', message.content);
      if (message.role !== 'user') showSources(item, message.sources);
    }
    return messages.length > 0;
  }

  /** The numbered sources under an answer: file name, and page or section where known. */
  function showSources(answer, sources) {
    if (sources.length === 0) return;
    const list = document.createElement('ol');
    list.className = 'sources';
    for (const source of sources) {
      const item = document.createElement('li');
      const where = source.page ? `, page ${source.page}` : source.section ? `, ${source.section}` : '';
      item.textContent = `${source.filename}${where}`;
      list.append(item);
    }
    answer.append(list);
  }

  /** Reads a Server-Sent Events body, calling `onEvent(name, data)` for each event. */
  async function readEvents(body, onEvent) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end = buffer.indexOf('\n\n');
      while (end !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let name = 'message';
        let data = '';
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) name = line.slice(7);
          else if (line.startsWith('data: ')) data += line.slice(6);
        }
        if (data) onEvent(name, JSON.parse(data));
        end = buffer.indexOf('\n\n');
      }
    }
  }
})();
