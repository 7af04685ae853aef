-- Postings lose their foreign key to chunks: checking it cost a lookup per posting (a document
-- writes hundreds per chunk), about half of the posting insert. Postings are only ever written in
-- the statement that inserts their chunks, so the key guarded nothing; what it did on delete,
-- this statement-level trigger does with one join per deleting statement.
ALTER TABLE chunk_terms DROP CONSTRAINT chunk_terms_chunk_id_fkey;

CREATE FUNCTION chunk_terms_cleanup_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM chunk_terms t USING old_rows o WHERE t.chunk_id = o.id;
  RETURN NULL;
END $$;

CREATE TRIGGER chunk_terms_cleanup AFTER DELETE ON chunks
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION chunk_terms_cleanup_trigger();
