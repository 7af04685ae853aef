import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { collectRun, runWorkflow } from '../executor.ts';
import { compileWorkflow, testDeps } from '../testing.ts';
import { validateWorkflow } from '../validate.ts';
import type { WorkflowDeps } from '../workflow-deps.ts';

interface Hit {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A real HTTP server on a loopback address that records what it receives. */
async function startServer(
  host: string,
  handle: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void,
) {
  const hits: Hit[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      hits.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handle(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return { hits, port, url: `http://${host}:${port}`, close: () => new Promise((r) => server.close(r)) };
}

type Server = Awaited<ReturnType<typeof startServer>>;

function httpDoc(data: Record<string, unknown>) {
  return compileWorkflow({
    nodes: [
      { id: 'start', type: 'start', data: {} },
      { id: 'call', type: 'http_request', data },
      {
        id: 'end',
        type: 'end',
        data: { answer: '{{call.status_code}} {{call.json.echo}} {{call.headers.x-reply}}|{{call.body}}' },
      },
    ],
    edges: [
      { source: 'start', target: 'call' },
      { source: 'call', target: 'end' },
    ],
  });
}

async function call(
  data: Record<string, unknown>,
  deps: Partial<WorkflowDeps> & { limits?: WorkflowDeps['limits'] } = {},
) {
  const { result } = await collectRun(
    runWorkflow(
      httpDoc(data),
      { botId: 'b', message: 'a b&c', history: [{ role: 'user', content: 'earlier' }], sessionId: 's1' },
      { ...testDeps({}), ...deps },
    ),
  );
  return result;
}

const open = { allowPrivateNetwork: true };

describe('http_request node', { timeout: 30_000 }, () => {
  let api: Server;
  let other: Server;
  before(async () => {
    api = await startServer('127.0.0.1', (req, res, body) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/echo') {
        res.setHeader('content-type', 'application/json');
        res.setHeader('x-reply', 'yes');
        res.end(JSON.stringify({ echo: url.searchParams.get('q'), auth: req.headers.authorization, body }));
      } else if (url.pathname === '/redirect') {
        res.statusCode = Number(url.searchParams.get('status') ?? 302);
        res.setHeader('location', url.searchParams.get('to') ?? '/echo?q=moved');
        res.end();
      } else if (url.pathname === '/big') {
        res.end('x'.repeat(5000));
      } else if (url.pathname === '/bomb') {
        res.setHeader('content-encoding', 'gzip');
        res.end(gzipSync(Buffer.alloc(1_000_000)));
      } else if (url.pathname === '/slow') {
        setTimeout(() => res.end('late'), 1000);
      } else {
        res.statusCode = 500;
        res.end('broken');
      }
    });
    // A second loopback address, to prove a blocked redirect never reaches it.
    other = await startServer('127.0.0.2', (_req, res) => res.end('should not be reached'));
  });
  after(async () => {
    await api.close();
    await other.close();
  });

  it('refuses a loopback server by default and reaches it only with the allow option', async () => {
    const before = api.hits.length;
    const blocked = await call({ url: `${api.url}/echo` });
    assert.equal(blocked.error?.code, 'http_blocked');
    assert.match(blocked.error?.message ?? '', /127\.0\.0\.1 are not allowed: loopback/);
    assert.equal(api.hits.length, before, 'no request was sent');

    // `localhost` through the system resolver (/etc/hosts) is loopback too.
    const named = await call({ url: `http://localhost:${api.port}/echo` });
    assert.equal(named.error?.code, 'http_blocked');
    assert.equal(api.hits.length, before, 'no request was sent');

    const allowed = await call({ url: `${api.url}/echo`, query: { q: '{{start.message}}' } }, { limits: open });
    assert.equal(allowed.status, 'succeeded', JSON.stringify(allowed.error));
    assert.match(allowed.answer, /^200 a b&c yes\|/);
    assert.equal(api.hits.at(-1)?.url, '/echo?q=a+b%26c', 'query values are encoded');
  });

  it('templates headers and a JSON body whose single-reference leaves keep their type', async () => {
    const result = await call(
      {
        method: 'POST',
        url: `${api.url}/echo`,
        headers: { Authorization: 'Bearer {{sys.session_id}}' },
        body: { type: 'json', json: { text: 'Q: {{start.message}}', history: '{{start.history}}', n: 1 } },
      },
      { limits: open },
    );
    assert.equal(result.status, 'succeeded', JSON.stringify(result.error));
    const hit = api.hits.at(-1);
    assert.equal(hit?.method, 'POST');
    assert.equal(hit?.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(hit?.body ?? ''), {
      text: 'Q: a b&c',
      history: [{ role: 'user', content: 'earlier' }],
      n: 1,
    });
    assert.equal(hit?.headers.authorization, 'Bearer s1');
    const trace = result.trace.nodes[1];
    assert.deepEqual(trace?.inputs, {
      method: 'POST',
      url: `${api.url}/echo`,
      headers: ['authorization', 'content-type'],
    });
  });

  it('refuses private, loopback and metadata IP literals before any request', async () => {
    let fetched = 0;
    const fetch: typeof globalThis.fetch = async () => {
      fetched++;
      return new Response('unexpected');
    };
    const urls = [
      'http://10.0.0.1/',
      'http://169.254.169.254/latest/meta-data/',
      'http://[::1]:8080/',
      'http://[::ffff:127.0.0.1]/',
      'http://[::ffff:7f00:1]/',
      'http://[fd00:ec2::254]/',
      'http://0x7f.0.0.1/',
      'http://2130706433/',
      'http://192.168.1.1./',
    ];
    for (const url of urls) {
      const result = await call({ url }, { fetch });
      assert.equal(result.error?.code, 'http_blocked', url);
    }
    // Allowing private networks still does not open the metadata service.
    const metadata = await call({ url: 'http://169.254.169.254/latest/meta-data/' }, { fetch, limits: open });
    assert.equal(metadata.error?.code, 'http_blocked');
    assert.equal(fetched, 0);
    const scheme = await call({ url: 'file:///etc/passwd' }, { fetch, limits: open });
    assert.equal(scheme.error?.code, 'http_blocked');
    // Headers the client owns cannot be configured.
    const host = validateWorkflow({
      nodes: [
        { id: 'start', type: 'start', data: {} },
        { id: 'call', type: 'http_request', data: { url: 'https://example.com/', headers: { Host: 'internal' } } },
        { id: 'end', type: 'end', data: { answer: 'x' } },
      ],
      edges: [
        { source: 'start', target: 'call' },
        { source: 'call', target: 'end' },
      ],
    });
    assert.equal(host.errors[0]?.code, 'invalid_config');
  });

  it('refuses a host name that resolves to a private address', async () => {
    const lookups: string[] = [];
    const dnsLookup = async (host: string) => {
      lookups.push(host);
      return [{ address: host === 'api.internal.test' ? '127.0.0.1' : '10.0.0.5', family: 4 as const }];
    };
    const before = api.hits.length;
    const result = await call({ url: `http://api.internal.test:${api.port}/echo` }, { dnsLookup });
    assert.equal(result.error?.code, 'http_blocked');
    assert.match(result.error?.message ?? '', /api\.internal\.test \(127\.0\.0\.1\)/);
    assert.deepEqual(lookups, ['api.internal.test']);
    assert.equal(api.hits.length, before);
  });

  it('connects to the address the guard checked (the lookup is the guard)', async () => {
    // The name resolves to the allowed server; the built-in client connects to the checked address.
    let resolutions = 0;
    const dnsLookup = async () => {
      resolutions++;
      return [{ address: '127.0.0.1', family: 4 as const }];
    };
    const result = await call(
      { url: `http://api.internal.test:${api.port}/echo`, query: { q: 'via-name' } },
      { dnsLookup, limits: { allowedPrivateNetworks: ['127.0.0.1/32'] } },
    );
    assert.equal(result.status, 'succeeded', JSON.stringify(result.error));
    assert.match(result.answer, /^200 via-name/);
    assert.equal(api.hits.at(-1)?.headers.host, `api.internal.test:${api.port}`);
    assert.equal(resolutions, 1, 'resolved once: checked, then connected to without asking again');
  });

  it('re-checks every redirect, with the built-in client and with an injected fetch', async () => {
    const onlyApi = { allowedPrivateNetworks: ['127.0.0.1/32'] };
    const dnsLookup = async () => [{ address: '127.0.0.3', family: 4 as const }];
    for (const fetch of [undefined, globalThis.fetch]) {
      const toOther = await call(
        { url: `${api.url}/redirect?to=${encodeURIComponent(`${other.url}/`)}` },
        { limits: onlyApi, fetch },
      );
      assert.equal(toOther.error?.code, 'http_blocked', 'redirect to 127.0.0.2');
      const toName = await call(
        { url: `${api.url}/redirect?to=${encodeURIComponent('http://evil.test/')}` },
        { limits: onlyApi, fetch, dnsLookup },
      );
      assert.equal(toName.error?.code, 'http_blocked', 'redirect to a name resolving to 127.0.0.3');
      const followed = await call({ url: `${api.url}/redirect` }, { limits: onlyApi, fetch });
      assert.match(followed.answer, /^200 moved/, 'a redirect within the allowed network is followed');
    }
    assert.equal(other.hits.length, 0, 'the blocked target was never contacted');
    const notFollowed = await call({ url: `${api.url}/redirect`, follow_redirects: false }, { limits: onlyApi });
    assert.match(notFollowed.answer, /^302 /);
  });

  it('drops credentials when a redirect changes origin, and turns a POST into a GET on 303', async () => {
    const to = encodeURIComponent(`${other.url}/landing`);
    const result = await call(
      {
        method: 'POST',
        url: `${api.url}/redirect?status=303&to=${to}`,
        headers: { authorization: 'Bearer secret', 'x-trace': 'kept' },
        body: { type: 'text', text: 'payload' },
      },
      { limits: { allowedPrivateNetworks: ['127.0.0.1/32', '127.0.0.2/32'] } },
    );
    assert.equal(result.status, 'succeeded', JSON.stringify(result.error));
    assert.equal(api.hits.at(-1)?.headers.authorization, 'Bearer secret');
    const landed = other.hits.at(-1);
    assert.equal(landed?.method, 'GET');
    assert.equal(landed?.body, '');
    assert.equal(landed?.headers.authorization, undefined);
    assert.equal(landed?.headers['x-trace'], 'kept');
  });

  it('limits the response size (after decompression), the time, and can fail on error statuses', async () => {
    const big = await call({ url: `${api.url}/big` }, { limits: { ...open, httpMaxResponseBytes: 1000 } });
    assert.equal(big.error?.code, 'http_response_too_large');
    const smallEnough = await call(
      { url: `${api.url}/big`, max_response_bytes: 10_000 },
      { limits: { ...open, httpMaxResponseBytes: 6000 } },
    );
    assert.equal(smallEnough.status, 'succeeded');
    const bomb = await call({ url: `${api.url}/bomb` }, { limits: { ...open, httpMaxResponseBytes: 100_000 } });
    assert.equal(bomb.error?.code, 'http_response_too_large');
    const slow = await call({ url: `${api.url}/slow`, timeout_ms: 5000 }, { limits: { ...open, httpTimeoutMs: 100 } });
    assert.equal(slow.error?.code, 'http_timeout');
    const broken = await call({ url: `${api.url}/nope` }, { limits: open });
    assert.equal(broken.status, 'succeeded');
    assert.match(broken.answer, /^500 .*\|broken$/);
    const strict = await call({ url: `${api.url}/nope`, fail_on_error_status: true }, { limits: open });
    assert.equal(strict.error?.code, 'http_status');
  });
});
