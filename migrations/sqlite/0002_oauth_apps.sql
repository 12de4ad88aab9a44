-- Tenant OAuth app overrides (seed 004's connection management). The client
-- secret lives in `secrets` (owner_kind 'oauth_app', purpose 'client_secret').
CREATE TABLE oauth_apps (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    provider         TEXT NOT NULL CHECK (provider IN ('calendly', 'google', 'microsoft')),
    name             TEXT NOT NULL,
    client_id        TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('configured', 'connected', 'disconnected', 'error')),
    last_checked_at  BIGINT,
    last_error       TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    UNIQUE (tenant_id, provider)
);
