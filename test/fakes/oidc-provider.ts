/**
 * A loopback OpenID Connect provider standing in for Google in tests. It speaks the real wire
 * protocol: discovery (`/.well-known/openid-configuration`), a JWK Set (`/jwks`, an RSA key made
 * with jose), `/authorize` (authorization code flow; records state, nonce and the PKCE challenge
 * and redirects back with a one-time code) and `/token` (checks the client's credentials, the
 * redirect URI and the PKCE verifier against the challenge, then returns an RS256-signed ID token
 * with iss, aud, exp, iat, nonce, sub, email, email_verified, name).
 *
 * A test "consents" with `consent(authorizeUrl, user)`: the user it names signs in. What the next
 * token answer gets wrong can be scripted (`nextToken`): a wrong nonce, issuer or audience, an
 * expired token, a token signed by another key or with HS256, or a server error.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

export interface FakeUser {
  sub: string;
  email: string;
  emailVerified?: boolean;
  name?: string;
}

export interface TokenScript {
  nonce?: string;
  issuer?: string;
  audience?: string;
  /** Seconds from now; negative for an already expired token. Default 300. */
  expiresIn?: number;
  /** Sign with a key that is not in the JWK Set (but claims the published key id). */
  foreignKey?: boolean;
  /** Sign with HS256 using the client secret (algorithm confusion). */
  hs256?: boolean;
  /** Answer with this HTTP status and a server error instead of tokens. */
  status?: number;
}

export interface AuthorizeRecord {
  clientId: string;
  redirectUri: string;
  scope: string;
  state: string;
  nonce: string;
  codeChallenge: string;
  codeChallengeMethod: string;
}

export interface TokenRecord {
  code: string;
  /** The verifier hashed to the challenge sent to /authorize. */
  pkceVerified: boolean;
  clientAuthenticated: boolean;
  status: number;
}

export interface FakeOidcProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  authorizations: AuthorizeRecord[];
  tokenRequests: TokenRecord[];
  /** What the next /token answer does differently (consumed by one call). */
  nextToken: TokenScript | undefined;
  /** Follows the authorization URL as `user` consenting; returns the redirect back (with code and state). */
  consent(authorizeUrl: string, user: FakeUser | 'deny'): Promise<URL>;
  close(): Promise<void>;
}

interface PendingCode {
  user: FakeUser;
  record: AuthorizeRecord;
  used: boolean;
}

export async function startFakeOidcProvider(
  options: { clientId?: string; clientSecret?: string } = {},
): Promise<FakeOidcProvider> {
  const clientId = options.clientId ?? 'test-client.apps.googleusercontent.com';
  const clientSecret = options.clientSecret ?? 'test-client-secret';
  const kid = 'fake-key-1';
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const foreign = await generateKeyPair('RS256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const codes = new Map<string, PendingCode>();
  const consenting = new Map<string, FakeUser | 'deny'>();
  let issuer = '';

  const provider: FakeOidcProvider = {
    issuer: '',
    clientId,
    clientSecret,
    authorizations: [],
    tokenRequests: [],
    nextToken: undefined,
    async consent(authorizeUrl, user) {
      const url = new URL(authorizeUrl);
      const ticket = randomBytes(8).toString('hex');
      consenting.set(ticket, user);
      url.searchParams.set('fake_consent', ticket);
      const res = await fetch(url, { redirect: 'manual' });
      const location = res.headers.get('location');
      if (res.status !== 302 || !location) throw new Error(`authorize answered ${res.status}: ${await res.text()}`);
      return new URL(location);
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };

  async function authorize(url: URL, res: ServerResponse) {
    const p = url.searchParams;
    const record: AuthorizeRecord = {
      clientId: p.get('client_id') ?? '',
      redirectUri: p.get('redirect_uri') ?? '',
      scope: p.get('scope') ?? '',
      state: p.get('state') ?? '',
      nonce: p.get('nonce') ?? '',
      codeChallenge: p.get('code_challenge') ?? '',
      codeChallengeMethod: p.get('code_challenge_method') ?? '',
    };
    provider.authorizations.push(record);
    if (record.clientId !== clientId) return json(res, 400, { error: 'invalid_client' });
    if (p.get('response_type') !== 'code' || !record.redirectUri) return json(res, 400, { error: 'invalid_request' });
    const user = consenting.get(p.get('fake_consent') ?? '');
    if (!user) return json(res, 400, { error: 'no consent scripted' });
    const back = new URL(record.redirectUri);
    if (user === 'deny') {
      back.searchParams.set('error', 'access_denied');
    } else {
      const code = randomBytes(16).toString('base64url');
      codes.set(code, { user, record, used: false });
      back.searchParams.set('code', code);
    }
    back.searchParams.set('state', record.state);
    res.writeHead(302, { location: back.href });
    res.end();
  }

  async function token(req: IncomingMessage, res: ServerResponse) {
    const body = new URLSearchParams(await readBody(req));
    const script = provider.nextToken ?? {};
    provider.nextToken = undefined;
    const code = body.get('code') ?? '';
    const pending = codes.get(code);
    let id = body.get('client_id');
    let secret = body.get('client_secret');
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
    if (basic?.[1]) {
      const [u, s] = Buffer.from(basic[1], 'base64').toString().split(':');
      id = decodeURIComponent(u ?? '');
      secret = decodeURIComponent(s ?? '');
    }
    const clientAuthenticated = id === clientId && secret === clientSecret;
    const verifier = body.get('code_verifier') ?? '';
    const pkceVerified =
      pending !== undefined &&
      pending.record.codeChallengeMethod === 'S256' &&
      createHash('sha256').update(verifier).digest('base64url') === pending.record.codeChallenge;
    const record: TokenRecord = { code, pkceVerified, clientAuthenticated, status: 200 };
    provider.tokenRequests.push(record);
    const fail = (status: number, error: string) => {
      record.status = status;
      json(res, status, { error });
    };
    if (script.status) return fail(script.status, 'server_error');
    if (!clientAuthenticated) return fail(401, 'invalid_client');
    if (body.get('grant_type') !== 'authorization_code') return fail(400, 'unsupported_grant_type');
    if (!pending || pending.used) return fail(400, 'invalid_grant');
    pending.used = true;
    if (body.get('redirect_uri') !== pending.record.redirectUri) return fail(400, 'invalid_grant');
    if (!pkceVerified) return fail(400, 'invalid_grant');

    const { user } = pending;
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      nonce: script.nonce ?? pending.record.nonce,
      email: user.email,
      email_verified: user.emailVerified ?? true,
      ...(user.name ? { name: user.name } : {}),
    };
    const jwt = new SignJWT(claims)
      .setSubject(user.sub)
      .setIssuer(script.issuer ?? issuer)
      .setAudience(script.audience ?? clientId)
      .setIssuedAt(now - 10)
      .setExpirationTime(now + (script.expiresIn ?? 300));
    const idToken = script.hs256
      ? await jwt.setProtectedHeader({ alg: 'HS256', kid }).sign(new TextEncoder().encode(clientSecret))
      : await jwt.setProtectedHeader({ alg: 'RS256', kid }).sign(script.foreignKey ? foreign.privateKey : privateKey);
    json(res, 200, {
      access_token: randomBytes(16).toString('base64url'),
      token_type: 'Bearer',
      expires_in: 3600,
      scope: pending.record.scope,
      id_token: idToken,
    });
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    const route = `${req.method} ${url.pathname}`;
    const handle = async () => {
      switch (route) {
        case 'GET /.well-known/openid-configuration':
          return json(res, 200, {
            issuer,
            authorization_endpoint: `${issuer}/authorize`,
            token_endpoint: `${issuer}/token`,
            jwks_uri: `${issuer}/jwks`,
            response_types_supported: ['code'],
            subject_types_supported: ['public'],
            id_token_signing_alg_values_supported: ['RS256'],
            code_challenge_methods_supported: ['S256'],
            token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
            scopes_supported: ['openid', 'email', 'profile'],
            claims_supported: ['sub', 'email', 'email_verified', 'name', 'iss', 'aud', 'exp', 'iat', 'nonce'],
          });
        case 'GET /jwks':
          return json(res, 200, { keys: [jwk] });
        case 'GET /authorize':
          return authorize(url, res);
        case 'POST /token':
          return token(req, res);
        default:
          return json(res, 404, { error: 'not_found' });
      }
    };
    handle().catch((err: Error) => json(res, 500, { error: 'server_error', error_description: err.message }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  provider.issuer = issuer;
  return provider;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
