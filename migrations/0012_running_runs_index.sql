-- Runs a stopped server left `running` are closed when a bot's runs are read and by the daily
-- prune: this index holds only running runs, so finding them never scans the history.
CREATE INDEX workflow_runs_running_idx ON workflow_runs (bot_id, started_at) WHERE status = 'running';
