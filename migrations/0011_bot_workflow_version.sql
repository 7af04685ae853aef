-- The published workflow version that answers a bot's chat, on the bot row itself: every chat turn
-- loads the bot in its access check, so it learns whether to run a workflow without another
-- query. `workflow_publications` stays the record; this trigger keeps the copy in step with it.
ALTER TABLE bots ADD COLUMN workflow_version integer;

CREATE FUNCTION bots_workflow_version_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    UPDATE bots SET workflow_version = NULL WHERE id = OLD.bot_id;
  ELSE
    UPDATE bots SET workflow_version = NEW.version WHERE id = NEW.bot_id;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER workflow_publications_to_bot AFTER INSERT OR UPDATE OR DELETE ON workflow_publications
  FOR EACH ROW EXECUTE FUNCTION bots_workflow_version_trigger();

UPDATE bots b SET workflow_version = p.version FROM workflow_publications p WHERE p.bot_id = b.id;
