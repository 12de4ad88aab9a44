-- Appointments people and agents create in calbridge, kept in two-way sync
-- with their owner's calendar.
CREATE TABLE appointments (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    owner_user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    title             TEXT NOT NULL,
    starts_at         BIGINT NOT NULL,
    ends_at           BIGINT NOT NULL CHECK (ends_at > starts_at),
    -- A JSON array of email addresses, sorted.
    attendees         TEXT NOT NULL DEFAULT '[]',
    location          TEXT,
    notes             TEXT,
    status            TEXT NOT NULL CHECK (status IN ('confirmed', 'canceled')),
    -- Bumped by every change made in calbridge; the mapping remembers the
    -- version it last synced, so a newer one is a local change to export.
    version           BIGINT NOT NULL DEFAULT 1,
    idempotency_key   TEXT,
    request_hash      TEXT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    canceled_at       BIGINT,
    UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX appointments_by_owner ON appointments (tenant_id, owner_user_id, starts_at);

-- Where an appointment lives on a calendar and the state both sides last
-- agreed on.
CREATE TABLE appointment_events (
    appointment_id    TEXT PRIMARY KEY REFERENCES appointments(id) ON DELETE CASCADE,
    tenant_id         TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    connection_id     TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    calendar_id       TEXT NOT NULL,
    -- The provider's event id; the create is safe to repeat, so a crash
    -- before this is written finds the same event on the retry.
    external_id       TEXT NOT NULL,
    etag              TEXT,
    -- SHA-256 of the synced fields as both sides last agreed.
    content_hash      TEXT NOT NULL,
    synced_version    BIGINT NOT NULL,
    last_synced_at    BIGINT NOT NULL,
    direction         TEXT NOT NULL CHECK (direction IN ('export', 'import')),
    state             TEXT NOT NULL CHECK (state IN ('synced', 'pending', 'conflict', 'error')),
    error             TEXT,
    external_link     TEXT,
    -- While in conflict: the calendar's version (JSON), to show and to keep.
    calendar_version  TEXT,
    UNIQUE (connection_id, external_id)
);
CREATE INDEX appointment_events_conflicts ON appointment_events (tenant_id) WHERE state = 'conflict';

-- What two-way sync does when both sides changed since they last agreed.
ALTER TABLE connections ADD COLUMN conflict_policy TEXT NOT NULL DEFAULT 'ask'
    CHECK (conflict_policy IN ('ask', 'calendar_wins', 'calbridge_wins'));
