-- Workflows: one editable draft per bot, immutable published versions, which version serves chat,
-- and the runs (chat and test runs) with their per-node traces. Every table leads with bot_id.

-- The draft the editor saves (validated on save; an invalid draft is kept with its problems so
-- work is not lost, but it cannot be published). `revision` guards concurrent editors: a save
-- sends the revision it read and fails if another save came first.
CREATE TABLE workflow_drafts (
  bot_id      uuid PRIMARY KEY REFERENCES bots (id) ON DELETE CASCADE,
  document    jsonb NOT NULL,
  revision    integer NOT NULL DEFAULT 1 CHECK (revision > 0),
  valid       boolean NOT NULL,
  problems    jsonb NOT NULL DEFAULT '[]'::jsonb,
  updated_by  uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Every published document, numbered per bot from 1. Never updated: rolling back means pointing
-- the publication at an older version.
CREATE TABLE workflow_versions (
  bot_id        uuid NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
  version       integer NOT NULL CHECK (version > 0),
  document      jsonb NOT NULL,
  -- The draft revision this version was published from.
  draft_revision integer,
  note          text CHECK (note IS NULL OR length(note) <= 2000),
  published_by  uuid REFERENCES users (id) ON DELETE SET NULL,
  published_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (bot_id, version)
);

-- The version that answers the bot's chat. No row: the bot uses the plain RAG pipeline. The
-- foreign key includes bot_id, so a bot can only serve one of its own versions.
CREATE TABLE workflow_publications (
  bot_id        uuid PRIMARY KEY REFERENCES bots (id) ON DELETE CASCADE,
  version       integer NOT NULL,
  published_by  uuid REFERENCES users (id) ON DELETE SET NULL,
  published_at  timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (bot_id, version) REFERENCES workflow_versions (bot_id, version)
);

-- One row per run. `id` is the engine's run id (RunInput.runId), so the row can be written when
-- the run starts and completed from its final event. `trace` is the RunTrace (strings already cut
-- by the engine's traceMaxStringChars).
CREATE TABLE workflow_runs (
  id             uuid PRIMARY KEY,
  bot_id         uuid NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
  source         text NOT NULL CHECK (source IN ('draft', 'published')),
  -- The published version that ran (NULL for a draft test run).
  version        integer,
  draft_revision integer,
  session_id     text,
  -- The chat answer this run produced (chat runs only). No foreign key: chat stores its message
  -- after the run has finished, and a run outlives a deleted message as history.
  chat_message_id uuid,
  status         text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed')),
  message        text NOT NULL,
  answer         text,
  error_code     text,
  error_message  text,
  error_node_id  text,
  steps          integer NOT NULL DEFAULT 0,
  input_tokens   integer NOT NULL DEFAULT 0,
  output_tokens  integer NOT NULL DEFAULT 0,
  duration_ms    integer,
  trace          jsonb,
  started_by     uuid REFERENCES users (id) ON DELETE SET NULL,
  started_at     timestamptz NOT NULL DEFAULT now(),
  finished_at    timestamptz,
  CHECK (source = 'draft' OR version IS NOT NULL),
  CHECK (status = 'running' OR finished_at IS NOT NULL),
  FOREIGN KEY (bot_id, version) REFERENCES workflow_versions (bot_id, version)
);
CREATE INDEX workflow_runs_bot_idx ON workflow_runs (bot_id, started_at DESC);
-- Failed runs of a bot, for the editor's "recent errors" and alerting.
CREATE INDEX workflow_runs_bot_failed_idx ON workflow_runs (bot_id, started_at DESC) WHERE status = 'failed';
