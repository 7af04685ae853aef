-- Retention prunes workflow runs by age across all bots: an index on the start time keeps the
-- daily delete from scanning the whole history.
CREATE INDEX workflow_runs_started_idx ON workflow_runs (started_at);
