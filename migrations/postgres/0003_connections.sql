-- Calendar connections and the OAuth states that create them. Tokens and
-- PKCE verifiers live encrypted in `secrets` (owner_kind 'connection' /
-- 'oauth_state').
CREATE TABLE connections (
    id                   TEXT PRIMARY KEY,
    tenant_id            TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id              TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    provider             TEXT NOT NULL CHECK (provider IN ('calendly', 'google', 'microsoft')),
    provider_account_id  TEXT NOT NULL,
    account_email        TEXT NOT NULL,
    account_name         TEXT NOT NULL,
    organization         TEXT,
    state                TEXT NOT NULL CHECK (state IN ('connected', 'error', 'disconnected')),
    token_expires_at     BIGINT,
    connected_at         BIGINT NOT NULL,
    last_sync_at         BIGINT,
    last_error           TEXT,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    -- Webhooks route by provider account, so one account has one owner.
    UNIQUE (provider, provider_account_id)
);
CREATE INDEX connections_by_user ON connections (tenant_id, user_id);

CREATE TABLE oauth_states (
    state_hash     TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    session_hash   TEXT NOT NULL,
    provider       TEXT NOT NULL,
    scopes         TEXT NOT NULL,
    opener_origin  TEXT,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT
);
