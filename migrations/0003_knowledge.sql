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
-- are counted from it at query time, so they are always exact. `len` is the chunk's length in
-- terms (BM25's document length), repeated on each posting so ranking never has to visit
-- `chunks`; INCLUDE makes the bot's postings for a term one index-only range scan.
CREATE TABLE chunk_terms (
  bot_id   uuid NOT NULL,
  term     text NOT NULL,
  chunk_id bigint NOT NULL REFERENCES chunks (id) ON DELETE CASCADE,
  tf       integer NOT NULL,
  len      integer NOT NULL,
  PRIMARY KEY (bot_id, term, chunk_id) INCLUDE (tf, len)
);
CREATE INDEX chunk_terms_chunk_idx ON chunk_terms (chunk_id);

-- Per-bot counters kept exact by statement-level triggers: the chunk count (BM25's N), the total
-- of chunk lengths in terms (N × average length), and how many chunks carry an embedding (which
-- vector-search plan a bot gets). Reading them costs one primary-key lookup instead of a scan of
-- a large bot's chunks on every query. No foreign key to bots: deleting a bot cascades through
-- chunks whose triggers update this row; a row that reaches zero is removed.
CREATE TABLE chunk_stats (
  bot_id   uuid PRIMARY KEY,
  chunks   bigint NOT NULL DEFAULT 0,
  embedded bigint NOT NULL DEFAULT 0,
  terms    bigint NOT NULL DEFAULT 0
);

CREATE FUNCTION chunk_stats_add(deltas jsonb) RETURNS void LANGUAGE sql AS $$
  INSERT INTO chunk_stats AS s (bot_id, chunks, embedded, terms)
  SELECT (d->>'bot_id')::uuid, (d->>'chunks')::bigint, (d->>'embedded')::bigint, (d->>'terms')::bigint
  FROM jsonb_array_elements(deltas) AS d
  ON CONFLICT (bot_id) DO UPDATE
    SET chunks = s.chunks + excluded.chunks, embedded = s.embedded + excluded.embedded, terms = s.terms + excluded.terms;
  DELETE FROM chunk_stats
  WHERE bot_id IN (SELECT (d->>'bot_id')::uuid FROM jsonb_array_elements(deltas) AS d)
    AND chunks <= 0 AND terms <= 0 AND embedded <= 0;
$$;

CREATE FUNCTION chunks_count_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE deltas jsonb;
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT jsonb_agg(x) INTO deltas FROM (
      SELECT bot_id, count(*) AS chunks, count(embedding) AS embedded, 0 AS terms FROM new_rows GROUP BY bot_id) x;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT jsonb_agg(x) INTO deltas FROM (
      SELECT bot_id, -count(*) AS chunks, -count(embedding) AS embedded, 0 AS terms FROM old_rows GROUP BY bot_id) x;
  ELSE
    SELECT jsonb_agg(x) INTO deltas FROM (
      SELECT bot_id, sum(n) AS chunks, sum(e) AS embedded, 0 AS terms FROM (
        SELECT bot_id, 1 AS n, (embedding IS NOT NULL)::int AS e FROM new_rows
        UNION ALL
        SELECT bot_id, -1, -((embedding IS NOT NULL)::int) FROM old_rows) u
      GROUP BY bot_id HAVING sum(n) <> 0 OR sum(e) <> 0) x;
  END IF;
  IF deltas IS NOT NULL THEN PERFORM chunk_stats_add(deltas); END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION chunk_terms_count_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE deltas jsonb;
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT jsonb_agg(x) INTO deltas FROM (
      SELECT bot_id, 0 AS chunks, 0 AS embedded, sum(tf) AS terms FROM new_rows GROUP BY bot_id) x;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT jsonb_agg(x) INTO deltas FROM (
      SELECT bot_id, 0 AS chunks, 0 AS embedded, -sum(tf) AS terms FROM old_rows GROUP BY bot_id) x;
  ELSE
    SELECT jsonb_agg(x) INTO deltas FROM (
      SELECT bot_id, 0 AS chunks, 0 AS embedded, sum(tf) AS terms FROM (
        SELECT bot_id, tf FROM new_rows UNION ALL SELECT bot_id, -tf FROM old_rows) u
      GROUP BY bot_id HAVING sum(tf) <> 0) x;
  END IF;
  IF deltas IS NOT NULL THEN PERFORM chunk_stats_add(deltas); END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER chunks_count_insert AFTER INSERT ON chunks
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION chunks_count_trigger();
CREATE TRIGGER chunks_count_delete AFTER DELETE ON chunks
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION chunks_count_trigger();
CREATE TRIGGER chunks_count_update AFTER UPDATE ON chunks
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION chunks_count_trigger();
CREATE TRIGGER chunk_terms_count_insert AFTER INSERT ON chunk_terms
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION chunk_terms_count_trigger();
CREATE TRIGGER chunk_terms_count_delete AFTER DELETE ON chunk_terms
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION chunk_terms_count_trigger();
CREATE TRIGGER chunk_terms_count_update AFTER UPDATE ON chunk_terms
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION chunk_terms_count_trigger();
