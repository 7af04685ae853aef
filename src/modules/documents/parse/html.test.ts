import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DocumentParseError } from './errors.ts';
import { htmlNestingDepth, MAX_HTML_DEPTH, parseHtml } from './html.ts';

const PAGE = `<!DOCTYPE html>
<html lang="ko">
<head>
  <title>회사 소개 | Example</title>
  <style>body { color: red }</style>
  <script>window.secret = "do not index";</script>
</head>
<body>
  <nav><a href="/">Home</a> <a href="/jobs">Jobs</a></nav>
  <header><p>Site banner</p></header>
  <main>
    <h1>회사 소개</h1>
    <p>우리는   RAG 플랫폼을
       <b>만듭니다</b>. 그리고 &amp; 운영합니다.</p>
    <h2>연혁</h2>
    <ul><li>2020년 설립</li><li>2023년 <em>출시</em></li></ul>
    <ol><li>First</li><li>Second</li></ol>
    <h2>매출</h2>
    <table><tr><th>연도</th><th>매출</th></tr><tr><td><p>2023</p></td><td>10억</td></tr></table>
    <pre>line 1
  indented line 2</pre>
    <div hidden>hidden text</div>
    <div style="display: none">invisible text</div>
    <aside>related links</aside>
    <form><label>Email</label><input value="x"><button>Send</button></form>
    <noscript>enable js</noscript>
  </main>
  <footer>© 2024 Example</footer>
</body>
</html>`;

describe('HTML parsing', () => {
  it('extracts the main text without scripts, styles, navigation or hidden parts', () => {
    const doc = parseHtml(PAGE);
    assert.equal(doc.title, '회사 소개 | Example');
    assert.equal(
      doc.text,
      [
        '회사 소개',
        '우리는 RAG 플랫폼을 만듭니다. 그리고 & 운영합니다.',
        '연혁',
        '- 2020년 설립\n- 2023년 출시',
        '1. First\n2. Second',
        '매출',
        '연도 | 매출\n2023 | 10억',
        'line 1\n  indented line 2',
        'Email',
      ].join('\n\n'),
    );
    for (const noise of ['secret', 'Home', 'banner', 'hidden', 'invisible', 'related', 'enable js', '2024', 'Send']) {
      assert.ok(!doc.text.includes(noise), `no "${noise}"`);
    }
    assert.deepEqual(
      doc.sections.map((s) => [s.sectionPath, doc.text.slice(s.start, s.end).split('\n')[0]]),
      [
        [['회사 소개'], '회사 소개'],
        [['회사 소개', '연혁'], '연혁'],
        [['회사 소개', '매출'], '매출'],
      ],
    );
  });

  it('reads the body when there is no main element, and the only article when there is one', () => {
    assert.equal(parseHtml('<html><body><nav>menu</nav><p>Body text.</p></body></html>').text, 'Body text.');
    assert.equal(parseHtml('<body><p>Teaser</p><article><p>Story.</p></article></body>').text, 'Story.');
    assert.equal(parseHtml('<p>A fragment</p><p>in two paragraphs</p>').text, 'A fragment\n\nin two paragraphs');
  });

  it('refuses markup nested absurdly deep, and measures depth in one pass', () => {
    const deep = `<body>${'<div>'.repeat(MAX_HTML_DEPTH + 1)}x${'</div>'.repeat(MAX_HTML_DEPTH + 1)}</body>`;
    assert.throws(
      () => parseHtml(deep),
      (e) => e instanceof DocumentParseError && e.reason === 'too_large',
    );
    assert.equal(htmlNestingDepth('<div><p>a<p>b<br><img src=x><span>c</span></div><script>"<div><div>"</script>'), 2);
    const long = '<p>x <b>y</b></p><div><span>s</span></div>'.repeat(20_000);
    assert.equal(htmlNestingDepth(long), 2);
    assert.equal(parseHtml(`<body><div>${'<div>deep</div>'.repeat(500)}</div></body>`).text.split('\n').length, 500);
    // A stray quote outside an attribute value must not hide the nesting after it.
    const hidden = `<body><div '>${'<div>'.repeat(MAX_HTML_DEPTH + 5)}x</body>`;
    assert.ok(htmlNestingDepth(hidden) > MAX_HTML_DEPTH);
    assert.equal(htmlNestingDepth('<div title="a > b" data-x=\'<div>\'><span>x</span></div>'), 2);
    // Tag soup that makes a regular expression backtrack is one quick pass here.
    assert.equal(htmlNestingDepth('<a'.repeat(200_000)), 0);
    assert.equal(htmlNestingDepth('<a "'.repeat(100_000)), 0);
  });
});
