import { z } from 'zod';
import { sendHttpRequest } from '../http-client.ts';
import { defineNode, type VariableUse, WorkflowNodeError } from '../node-definition.ts';
import { resolveValue, type VariableScope } from '../variables.ts';

/**
 * Calls an HTTP API. URL, query, headers and body are templated; user text belongs in `query`
 * (encoded for you) or a JSON body (each string leaf is one value, so text cannot break the
 * JSON). Private, loopback and metadata addresses are refused unless the operator allows them.
 */

const HeaderName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[!#$%&'*+.^`|~\w-]+$/, 'a header name')
  .refine(
    (h) =>
      !['host', 'content-length', 'transfer-encoding', 'connection', 'upgrade', 'te', 'trailer'].includes(
        h.toLowerCase(),
      ),
    'this header is set by the client',
  );

const Body = z.discriminatedUnion('type', [
  z.object({ type: z.literal('none') }),
  /** Any JSON value; string leaves are templates, and a leaf that is one reference keeps the value's type. */
  z.object({ type: z.literal('json'), json: z.unknown() }),
  z.object({ type: z.literal('text'), text: z.string().max(100_000), content_type: z.string().max(200).optional() }),
  z.object({ type: z.literal('form'), form: z.record(z.string().max(200), z.string().max(10_000)) }),
]);

const HttpConfig = z.object({
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']).default('GET'),
  url: z.string().min(1).max(4000),
  query: z.record(z.string().max(200), z.string().max(4000)).optional(),
  headers: z.record(HeaderName, z.string().max(8000)).optional(),
  body: Body.default({ type: 'none' }),
  /** At most the operator's limit, which is also the default. */
  timeout_ms: z.number().int().min(100).max(600_000).optional(),
  max_response_bytes: z
    .number()
    .int()
    .min(1)
    .max(100 * 1024 * 1024)
    .optional(),
  follow_redirects: z.boolean().default(true),
  /** Fail the node on a 4xx/5xx status instead of passing `status_code` on. */
  fail_on_error_status: z.boolean().default(false),
});

export const httpRequestNode = defineNode({
  type: 'http_request',
  description: 'Calls an HTTP API (private networks refused unless allowed)',
  configSchema: HttpConfig,
  outputs: () => ({ status_code: 'number', body: 'string', headers: 'object', json: 'any' }),
  uses: (c) => {
    const uses: VariableUse[] = [{ field: 'url', kind: 'template', text: c.url }];
    for (const [k, v] of Object.entries(c.query ?? {})) uses.push({ field: `query.${k}`, kind: 'template', text: v });
    for (const [k, v] of Object.entries(c.headers ?? {}))
      uses.push({ field: `headers.${k}`, kind: 'template', text: v });
    if (c.body.type === 'text') uses.push({ field: 'body.text', kind: 'template', text: c.body.text });
    if (c.body.type === 'form') {
      for (const [k, v] of Object.entries(c.body.form))
        uses.push({ field: `body.form.${k}`, kind: 'template', text: v });
    }
    if (c.body.type === 'json') {
      for (const [path, text] of stringLeaves(c.body.json, 'body.json'))
        uses.push({ field: path, kind: 'template', text });
    }
    return uses;
  },
  async run(config, ctx) {
    let url: URL;
    const rendered = ctx.render(config.url).trim();
    try {
      url = new URL(rendered);
    } catch {
      throw new WorkflowNodeError('invalid_url', `"${rendered}" is not a URL`);
    }
    for (const [k, v] of Object.entries(config.query ?? {})) url.searchParams.append(k, ctx.render(v));
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(config.headers ?? {})) {
      const value = ctx.render(v);
      if (/[\r\n]/.test(value)) throw new WorkflowNodeError('invalid_header', `Header ${k} contains a line break`);
      headers[k.toLowerCase()] = value;
    }
    const body = renderBody(config.body, ctx.scope, ctx.render);
    if (body && !headers['content-type']) headers['content-type'] = body.contentType;
    const limits = ctx.deps.limits;
    const method = config.method;
    const response = await sendHttpRequest(
      { method, url, headers, body: method === 'GET' || method === 'HEAD' ? undefined : body?.text },
      {
        policy: { allowPrivateNetwork: limits.allowPrivateNetwork, allowedNetworks: limits.allowedPrivateNetworks },
        dnsLookup: ctx.deps.dnsLookup,
        fetch: ctx.deps.fetch,
        timeoutMs: Math.min(config.timeout_ms ?? limits.httpTimeoutMs, limits.httpTimeoutMs),
        maxResponseBytes: Math.min(
          config.max_response_bytes ?? limits.httpMaxResponseBytes,
          limits.httpMaxResponseBytes,
        ),
        maxRedirects: limits.httpMaxRedirects,
        followRedirects: config.follow_redirects,
        signal: ctx.signal,
      },
    );
    if (config.fail_on_error_status && response.status >= 400) {
      throw new WorkflowNodeError('http_status', `${method} ${url.host} answered ${response.status}`);
    }
    return {
      inputs: { method, url: redactUrl(url), headers: Object.keys(headers) },
      outputs: {
        status_code: response.status,
        body: response.body,
        headers: response.headers,
        json: parseJson(response.body, response.headers['content-type']),
      },
      details: { final_url: redactUrl(new URL(response.url)), redirects: response.redirects },
    };
  },
});

function renderBody(
  body: z.output<typeof Body>,
  scope: VariableScope,
  render: (t: string) => string,
): { text: string; contentType: string } | undefined {
  switch (body.type) {
    case 'none':
      return undefined;
    case 'text':
      return { text: render(body.text), contentType: body.content_type ?? 'text/plain; charset=utf-8' };
    case 'form': {
      const form = new URLSearchParams();
      for (const [k, v] of Object.entries(body.form)) form.append(k, render(v));
      return { text: form.toString(), contentType: 'application/x-www-form-urlencoded' };
    }
    case 'json':
      return {
        text: JSON.stringify(mapStrings(body.json, (s) => resolveValue(s, scope))),
        contentType: 'application/json',
      };
  }
}

function mapStrings(value: unknown, fn: (s: string) => unknown): unknown {
  if (typeof value === 'string') return fn(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, fn));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, fn)]));
  }
  return value;
}

function stringLeaves(value: unknown, path: string): Array<[string, string]> {
  if (typeof value === 'string') return [[path, value]];
  if (Array.isArray(value)) return value.flatMap((v, i) => stringLeaves(v, `${path}[${i}]`));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => stringLeaves(v, `${path}.${k}`));
  }
  return [];
}

function parseJson(body: string, contentType: string | undefined): unknown {
  if (!/json/i.test(contentType ?? '') && !/^\s*[[{]/.test(body)) return null;
  try {
    return JSON.parse(body);
  } catch {
    return null;
  }
}

/** The URL without credentials or query values, for traces. */
function redactUrl(url: URL): string {
  const copy = new URL(url);
  copy.username = '';
  copy.password = '';
  for (const key of [...copy.searchParams.keys()]) copy.searchParams.set(key, '…');
  return copy.toString();
}
