-- Documents, their uploaded bytes, chunks, and the lexical (BM25) postings.
-- Every table leads its indexes with bot_id so a bot's queries only touch that bot's rows.

CREATE TABLE documents (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  bot_id        uuid NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
  filename      text NOT NULL,
  file_type     text NOT NULL,
  mime_type     text NOT NULL,
  size_bytes    bigint NOT NULL,
  content_hash  text NOT NULL,
  status        text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'processing', 'ready', 'failed')),
  stage         text,
  error         text,
  chunks_done   integer NOT NULL DEFAULT 0,
  chunks_total  integer NOT NULL DEFAULT 0,
  -- Incremented by each ingestion attempt; chunk writes commit only if theirs is still current.
  attempt       integer NOT NULL DEFAULT 0,
  metadata      jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX documents_bot_idx ON documents (bot_id, created_at DESC);
CREATE UNIQUE INDEX documents_bot_content_key ON documents (bot_id, content_hash);

-- The uploaded bytes, committed with the document row so an accepted upload is never lost.
CREATE TABLE document_files (
  document_id uuid PRIMARY KEY REFERENCES documents (id) ON DELETE CASCADE,
  content     bytea NOT NULL
);

-- The original's document_embeddings. `embedding` has no fixed dimension so bots using different
-- models coexist; per-bot partial HNSW indexes cast to the bot's dimension (see retrieval).
CREATE TABLE chunks (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  bot_id          uuid NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
  document_id     uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
  chunk_index     integer NOT NULL,
  content         text NOT NULL,
  metadata        jsonb NOT NULL DEFAULT '{}'::jsonb,
  token_count     integer NOT NULL,
  embedding       vector,
  embedding_model text,
  UNIQUE (document_id, chunk_index)
);
CREATE INDEX chunks_bot_idx ON chunks (bot_id, document_id);

-- Inverted index for BM25: term frequencies per chunk, keyed bot first. Document frequencies
-- are counted from it at query time, so they are always exact.
CREATE TABLE chunk_terms (
  bot_id   uuid NOT NULL,
  term     text NOT NULL,
  chunk_id bigint NOT NULL REFERENCES chunks (id) ON DELETE CASCADE,
  tf       integer NOT NULL,
  PRIMARY KEY (bot_id, term, chunk_id)
);
CREATE INDEX chunk_terms_chunk_idx ON chunk_terms (chunk_id);
