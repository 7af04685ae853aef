-- Sign-in and abuse protection: OAuth round-trip state, descriptive session records, audit trail.

-- One row per Google sign-in in progress. The callback consumes it with DELETE ... RETURNING, so
-- a state is good exactly once; `browser_hash` binds it to the browser that started the sign-in
-- (a cookie) against login CSRF. Only hashes of state and binding are kept.
CREATE TABLE oauth_states (
  state_hash    text PRIMARY KEY,
  provider      text NOT NULL,
  nonce         text NOT NULL,
  code_verifier text NOT NULL,
  browser_hash  text NOT NULL,
  expires_at    timestamptz NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX oauth_states_expires_idx ON oauth_states (expires_at);

-- Sessions (one per refresh-token family) as the user sees them: device, address, times.
-- Used when Redis is not configured; with Redis they live there. Never consulted to decide
-- whether a token is valid: refresh_tokens.revoked_at is the system of record for that.
CREATE TABLE user_sessions (
  id           uuid PRIMARY KEY,
  user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  method       text NOT NULL,
  ip           text,
  user_agent   text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL
);
CREATE INDEX user_sessions_user_idx ON user_sessions (user_id, expires_at);

-- Append-only security audit trail. No foreign keys: the record outlives users and teams.
CREATE TABLE audit_log (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at            timestamptz NOT NULL DEFAULT now(),
  event         text NOT NULL,
  actor_user_id uuid,
  team_id       uuid,
  ip            text,
  user_agent    text,
  details       jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_user_id, at);
CREATE INDEX audit_log_team_idx ON audit_log (team_id, at);
CREATE INDEX audit_log_event_idx ON audit_log (event, at);
