import { once } from 'node:events';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** An SSE comment keeps proxies from closing a stream that is quiet for a while. */
const HEARTBEAT_MS = 15_000;

export interface SseStream {
  /** Sends one event; waits for a full socket buffer to drain, so a slow client slows the writer. */
  send(event: string, data: unknown): Promise<void>;
  /** True once the client went away or the stream ended. */
  readonly closed: boolean;
  end(): void;
}

/**
 * Takes over a reply and opens a Server-Sent Events stream: the headers already set on the reply
 * (CORS, security, rate limits) plus the request id and the no-buffering headers proxies need,
 * and a heartbeat while nothing else is written. Used by chat, workflow runs and ingestion progress.
 */
export function openSse(reply: FastifyReply, options: { retryMs?: number } = {}): SseStream {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    ...(reply.getHeaders() as Record<string, string>),
    'x-request-id': reply.request.id,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  // No flush: the headers leave with the first event, in one write with it.
  let lastWrite = Date.now();
  const write = async (chunk: string) => {
    if (res.destroyed || res.writableEnded) return;
    lastWrite = Date.now();
    if (!res.write(chunk)) await Promise.race([once(res, 'drain'), once(res, 'close')]).catch(() => {});
  };
  const heartbeat = setInterval(() => {
    if (Date.now() - lastWrite >= HEARTBEAT_MS) void write(': keep-alive\n\n');
  }, HEARTBEAT_MS);
  heartbeat.unref();
  res.once('close', () => clearInterval(heartbeat));
  if (options.retryMs !== undefined) void write(`retry: ${options.retryMs}\n\n`);

  return {
    send: (event, data) => write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`),
    get closed() {
      return res.destroyed || res.writableEnded;
    },
    end() {
      clearInterval(heartbeat);
      if (!res.destroyed && !res.writableEnded) res.end();
    },
  };
}

/** Whether a reply should stream: the body's `stream` flag if given, else the Accept header. */
export function wantsEventStream(request: FastifyRequest, stream: boolean | undefined): boolean {
  return stream ?? /\btext\/event-stream\b/.test(request.headers.accept ?? '');
}

/** A signal that aborts when the client goes away before the reply is finished. */
export function abortOnDisconnect(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  const res = reply.raw;
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new Error('client disconnected'));
  });
  return controller.signal;
}
