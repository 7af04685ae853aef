import { z } from 'zod';
import { AppError } from '../../platform/errors.ts';
import type { App } from '../../platform/http/types.ts';
import { GOOGLE_STATE_TTL_SECONDS, type GoogleSignIn } from './google.ts';
import { AUTH_ROUTE, clientOf } from './routes.ts';

/**
 * Browser-facing Google sign-in.
 *
 * `GET /auth/login/google` redirects to Google and sets a short-lived HttpOnly cookie that binds
 * the sign-in to this browser (so nobody can finish their own sign-in in someone else's browser).
 * `GET /auth/callback/google` finishes it and redirects to `<FRONTEND_URL>/auth/callback` with
 * our tokens in the URL fragment: a fragment is never sent to any server, so the tokens stay out
 * of access logs, proxies and Referer headers; the page reads them and clears the fragment.
 * (Cookies would instead make every API call a CSRF target and tie the API and the frontend to
 * one site.) Failures answer 4xx problem+json (502 when Google cannot be reached), with no
 * account created.
 */
const COOKIE = 'snapagent_oauth';

const CallbackQuery = z.object({
  code: z.string().max(4096).optional(),
  state: z.string().max(512).optional(),
  error: z.string().max(256).optional(),
  error_description: z.string().max(1024).optional(),
  iss: z.string().max(512).optional(),
  scope: z.string().max(2048).optional(),
});

export function googleRoutes(
  app: App,
  deps: { google: GoogleSignIn | undefined; frontendUrl: string | undefined; redirectUri: string | undefined },
): void {
  const { google } = deps;
  const tags = ['auth'];
  const callback = deps.redirectUri ? new URL(deps.redirectUri) : undefined;
  const cookieOptions = {
    path: callback?.pathname ?? '/',
    httpOnly: true,
    // Lax: the callback is a top-level navigation coming back from Google.
    sameSite: 'lax',
    secure: callback?.protocol === 'https:',
  } as const;

  const enabled = () => {
    if (!google || !deps.frontendUrl)
      throw new AppError('not_found', 'Google sign-in is not configured on this server');
    return { google, frontendUrl: deps.frontendUrl };
  };

  app.get('/api/v1/auth/login/google', {
    ...AUTH_ROUTE,
    schema: {
      tags,
      summary: 'Start Google sign-in',
      description:
        'Redirects (302) to Google with state, nonce and PKCE (S256), and sets an HttpOnly cookie binding the ' +
        'sign-in to this browser. Open it in the browser (a link or window.location), not with fetch.',
    },
    handler: async (_req, reply) => {
      const { google: signIn } = enabled();
      const { url, binding } = await signIn.start();
      return reply
        .setCookie(COOKIE, binding, { ...cookieOptions, maxAge: GOOGLE_STATE_TTL_SECONDS })
        .header('cache-control', 'no-store')
        .redirect(url, 302);
    },
  });

  app.get('/api/v1/auth/callback/google', {
    ...AUTH_ROUTE,
    schema: {
      tags,
      summary: 'Finish Google sign-in (Google redirects here)',
      description:
        'Validates state (one-time, bound to the browser), exchanges the code with the PKCE verifier and checks the ' +
        "ID token's signature, issuer, audience, expiry and nonce. On success redirects (302) to " +
        '`<FRONTEND_URL>/auth/callback#access_token=…&refresh_token=…&token_type=bearer&expires_in=…`. ' +
        'Errors: 400 `oauth_state_invalid` (unknown, replayed, expired or foreign state), 400 `oauth_failed` ' +
        '(denied consent, invalid code or ID token), 403 `email_unverified`, 409 `conflict`, 502 `provider_error`.',
      querystring: CallbackQuery,
    },
    handler: async (req, reply) => {
      const { google: signIn, frontendUrl } = enabled();
      const query = new URLSearchParams(req.url.split('?')[1] ?? '');
      reply.clearCookie(COOKIE, cookieOptions).header('cache-control', 'no-store');
      const pair = await signIn.finish(query, req.cookies[COOKIE] || undefined, clientOf(req));
      const target = new URL('auth/callback', frontendUrl.endsWith('/') ? frontendUrl : `${frontendUrl}/`);
      target.hash = new URLSearchParams({
        access_token: pair.access_token,
        refresh_token: pair.refresh_token,
        token_type: pair.token_type,
        expires_in: String(pair.expires_in),
      }).toString();
      return reply.header('referrer-policy', 'no-referrer').redirect(target.href, 302);
    },
  });
}
