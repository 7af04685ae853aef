import type { LoggerOptions } from 'pino';

/**
 * pino options shared by the HTTP server and the worker: JSON lines, secrets redacted by
 * configuration so no call site has to remember.
 */
export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    base: { service: 'snapagent' },
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'req.headers["x-api-key"]',
        'res.headers["set-cookie"]',
        '*.password',
        '*.refresh_token',
        '*.access_token',
        '*.apiKey',
        '*.api_key',
      ],
      censor: '[redacted]',
    },
  };
}
