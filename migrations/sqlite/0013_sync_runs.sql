-- The sync log: every read of a connection's change feed and every export
-- to a calendar is a run, with what started it, its counts and outcome;
-- its items say what changed. Purged after the retention (housekeeping).
CREATE TABLE sync_runs (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    connection_id  TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    provider       TEXT NOT NULL,
    -- Set when the run read or wrote one calendar.
    calendar_id    TEXT,
    trigger        TEXT NOT NULL CHECK (trigger IN ('webhook', 'schedule', 'manual', 'export', 'resync', 'setup')),
    -- 1 when a feed was read from scratch (no cursor, or it had expired).
    full_read      BIGINT NOT NULL DEFAULT 0,
    outcome        TEXT NOT NULL CHECK (outcome IN ('running', 'succeeded', 'partial', 'failed')),
    started_at     BIGINT NOT NULL,
    finished_at    BIGINT,
    -- Progress while running: feeds (calendars) read of those to read.
    feeds_done     BIGINT NOT NULL DEFAULT 0,
    feeds_total    BIGINT NOT NULL DEFAULT 1,
    imported       BIGINT NOT NULL DEFAULT 0,
    updated        BIGINT NOT NULL DEFAULT 0,
    deleted        BIGINT NOT NULL DEFAULT 0,
    exported       BIGINT NOT NULL DEFAULT 0,
    conflicts      BIGINT NOT NULL DEFAULT 0,
    skipped        BIGINT NOT NULL DEFAULT 0,
    errors         BIGINT NOT NULL DEFAULT 0,
    error          TEXT
);
CREATE INDEX sync_runs_by_tenant ON sync_runs (tenant_id, started_at);
CREATE INDEX sync_runs_by_connection ON sync_runs (connection_id, started_at);

CREATE TABLE sync_items (
    run_id       TEXT NOT NULL REFERENCES sync_runs(id) ON DELETE CASCADE,
    seq          BIGINT NOT NULL,
    action       TEXT NOT NULL CHECK (action IN ('imported', 'updated', 'deleted', 'exported', 'conflict', 'skipped', 'error')),
    calendar_id  TEXT,
    external_id  TEXT NOT NULL,
    title        TEXT,
    starts_at    BIGINT,
    detail       TEXT,
    PRIMARY KEY (run_id, seq)
);

-- The backlog on /admin/sync: notifications not yet covered by a sync.
CREATE INDEX webhook_events_queued ON webhook_events (connection_id) WHERE result = 'queued';
