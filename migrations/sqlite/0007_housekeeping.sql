-- What each housekeeping run removed, for the admin jobs page; and an index
-- so purging old webhook events does not scan the table.
CREATE TABLE housekeeping_runs (
    id              TEXT PRIMARY KEY,
    finished_at     BIGINT NOT NULL,
    sessions        BIGINT NOT NULL,
    oauth_states    BIGINT NOT NULL,
    webhook_events  BIGINT NOT NULL,
    secrets         BIGINT NOT NULL,
    duration_ms     BIGINT NOT NULL
);
CREATE INDEX housekeeping_runs_by_time ON housekeeping_runs (finished_at);
CREATE INDEX webhook_events_by_time ON webhook_events (received_at);
