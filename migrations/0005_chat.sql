-- Chat: sessions, their messages (with sources, usage and cost), and feedback on answers.
-- Every table carries bot_id and leads an index with it.

CREATE TABLE chat_sessions (
  id          uuid PRIMARY KEY,
  bot_id      uuid NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
  -- Who opened the session: a signed-in user or an API key (both NULL once deleted).
  user_id     uuid REFERENCES users (id) ON DELETE SET NULL,
  api_key_id  uuid REFERENCES api_keys (id) ON DELETE SET NULL,
  title       text CHECK (title IS NULL OR length(title) <= 200),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX chat_sessions_bot_idx ON chat_sessions (bot_id, updated_at DESC);

-- One row per turn side. `seq` orders a session's messages even when two share a timestamp.
CREATE TABLE chat_messages (
  id             uuid PRIMARY KEY,
  seq            bigint GENERATED ALWAYS AS IDENTITY,
  session_id     uuid NOT NULL REFERENCES chat_sessions (id) ON DELETE CASCADE,
  bot_id         uuid NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
  role           text NOT NULL CHECK (role IN ('user', 'assistant')),
  content        text NOT NULL,
  -- Exactly the passages the answer was given (assistant messages).
  sources        jsonb NOT NULL DEFAULT '[]'::jsonb,
  -- llm: model answer; extractive: no LLM configured; no_answer: nothing relevant found; workflow.
  mode           text CHECK (mode IN ('llm', 'extractive', 'no_answer', 'workflow')),
  -- The standalone query the search ran with (a rewritten follow-up), when it differs.
  search_query   text,
  provider       text,
  model          text,
  input_tokens   integer NOT NULL DEFAULT 0,
  output_tokens  integer NOT NULL DEFAULT 0,
  -- NULL when the model's price is unknown.
  cost_usd       numeric(14, 8),
  latency_ms     integer,
  error_code     text,
  error          text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  CHECK (role = 'assistant' OR mode IS NULL)
);
CREATE INDEX chat_messages_session_idx ON chat_messages (session_id, seq);
CREATE INDEX chat_messages_bot_idx ON chat_messages (bot_id, created_at);

-- One rating per caller per message; rating again replaces it.
CREATE TABLE message_feedback (
  message_id  uuid NOT NULL REFERENCES chat_messages (id) ON DELETE CASCADE,
  bot_id      uuid NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
  -- `user:<uuid>` or `api_key:<uuid>`.
  actor       text NOT NULL,
  rating      text NOT NULL CHECK (rating IN ('up', 'down')),
  comment     text CHECK (comment IS NULL OR length(comment) <= 2000),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (message_id, actor)
);
CREATE INDEX message_feedback_bot_idx ON message_feedback (bot_id, created_at);
