-- Every webhook delivery calbridge received, and the meetings they produce.

CREATE TABLE webhook_events (
    id             TEXT PRIMARY KEY,
    -- NULL when the delivery could not be routed to a tenant.
    tenant_id      TEXT REFERENCES tenants(id) ON DELETE CASCADE,
    user_id        TEXT,
    connection_id  TEXT,
    provider       TEXT NOT NULL,
    event_type     TEXT NOT NULL,
    -- Calendly: event name + invitee URI. NULL for records that are not
    -- deliveries to process (rejected, unrouted, ignored).
    dedupe_key     TEXT,
    result         TEXT NOT NULL CHECK (result IN ('queued', 'processed', 'duplicate', 'ignored', 'unrouted', 'rejected', 'failed')),
    detail         TEXT,
    payload        TEXT,
    duplicates     BIGINT NOT NULL DEFAULT 0,
    received_at    BIGINT NOT NULL,
    processed_at   BIGINT
);
CREATE UNIQUE INDEX webhook_events_dedupe ON webhook_events (provider, dedupe_key);
CREATE INDEX webhook_events_by_tenant ON webhook_events (tenant_id, received_at);

CREATE TABLE meetings (
    id                   TEXT PRIMARY KEY,
    tenant_id            TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id              TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    connection_id        TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    provider             TEXT NOT NULL,
    -- Calendly: the invitee URI (one booking); Google/Outlook: the event id.
    provider_event_id    TEXT NOT NULL,
    title                TEXT NOT NULL,
    starts_at            BIGINT NOT NULL,
    ends_at              BIGINT NOT NULL,
    time_zone            TEXT,
    status               TEXT NOT NULL CHECK (status IN ('scheduled', 'canceled', 'rescheduled')),
    invitee_name         TEXT,
    invitee_email        TEXT,
    attendees            TEXT NOT NULL DEFAULT '[]',
    location             TEXT,
    join_url             TEXT,
    cancel_url           TEXT,
    reschedule_url       TEXT,
    -- A rescheduled booking points at its replacement.
    rescheduled_to       TEXT,
    provider_updated_at  BIGINT,
    webhook_event_id     TEXT,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    UNIQUE (connection_id, provider_event_id)
);
CREATE INDEX meetings_by_user ON meetings (tenant_id, user_id, starts_at);

-- Incremental sync positions: Google per calendar, Graph per connection.
ALTER TABLE connection_calendars ADD COLUMN sync_token TEXT;
ALTER TABLE connections ADD COLUMN delta_link TEXT;
