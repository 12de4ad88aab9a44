-- The durable job queue, provider-side webhook subscriptions and the
-- calendars of each connection.

CREATE TABLE jobs (
    id                TEXT PRIMARY KEY,
    -- NULL for instance-wide jobs (the scheduler).
    tenant_id         TEXT REFERENCES tenants(id) ON DELETE CASCADE,
    kind              TEXT NOT NULL,
    payload           TEXT NOT NULL,
    -- Jobs with the same key coalesce while one is queued, and never run
    -- two at a time.
    coalesce_key      TEXT,
    status            TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'dead')),
    run_at            BIGINT NOT NULL,
    attempts          BIGINT NOT NULL DEFAULT 0,
    max_attempts      BIGINT NOT NULL,
    lease_owner       TEXT,
    lease_expires_at  BIGINT,
    last_error        TEXT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    finished_at       BIGINT
);
CREATE INDEX jobs_ready ON jobs (status, run_at);
CREATE INDEX jobs_by_tenant ON jobs (tenant_id, status, updated_at);
CREATE UNIQUE INDEX jobs_coalesce_queued ON jobs (coalesce_key)
    WHERE status = 'queued' AND coalesce_key IS NOT NULL;
CREATE INDEX jobs_coalesce_running ON jobs (coalesce_key, status);

-- Calendly webhook subscriptions, Google watch channels and Graph
-- subscriptions. Their secrets (signing key, channel token, clientState)
-- live encrypted in `secrets` (owner_kind 'subscription').
CREATE TABLE subscriptions (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    connection_id  TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    provider       TEXT NOT NULL,
    calendar_id    TEXT,
    external_id    TEXT NOT NULL,
    resource_id    TEXT,
    state          TEXT NOT NULL CHECK (state IN ('active', 'failed', 'stopping', 'stopped')),
    expires_at     BIGINT,
    renew_at       BIGINT,
    last_error     TEXT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    UNIQUE (provider, external_id)
);
CREATE INDEX subscriptions_by_connection ON subscriptions (tenant_id, connection_id);
CREATE INDEX subscriptions_due ON subscriptions (state, renew_at);

CREATE TABLE connection_calendars (
    tenant_id      TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    connection_id  TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    calendar_id    TEXT NOT NULL,
    name           TEXT NOT NULL,
    is_primary     BIGINT NOT NULL,
    writable       BIGINT NOT NULL,
    busy           BIGINT NOT NULL,
    PRIMARY KEY (connection_id, calendar_id)
);

-- The id in a connection's webhook URL: random, so the URL reveals nothing.
ALTER TABLE connections ADD COLUMN public_id TEXT;
UPDATE connections SET public_id = md5(random()::text || id);
CREATE UNIQUE INDEX connections_public_id ON connections (public_id);
-- 'webhook', or 'polling' when the provider refuses webhooks (Calendly's free plan).
ALTER TABLE connections ADD COLUMN sync_mode TEXT NOT NULL DEFAULT 'webhook';
ALTER TABLE connections ADD COLUMN booking_calendar_id TEXT;
