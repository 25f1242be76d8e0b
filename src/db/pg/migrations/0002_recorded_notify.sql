-- Every statement that records, changes or deletes calls tells the instances listening (LISTEN
-- bedrock_chat_invocations) at its commit, so a dashboard on one instance sees a chat served by
-- another at once; PostgreSQL folds a transaction's notifications on one channel into one.
CREATE OR REPLACE FUNCTION bedrock_chat_notify_invocations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('bedrock_chat_invocations', '');
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER invocations_notify AFTER INSERT OR UPDATE OR DELETE ON invocations FOR EACH STATEMENT EXECUTE FUNCTION bedrock_chat_notify_invocations();
