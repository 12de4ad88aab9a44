-- Per-tenant API keys for machines and AI agents. Only the key's SHA-256
-- is kept (keys are 256-bit random, so a fast hash is enough); the prefix
-- lets an admin tell keys apart. Scopes are space-separated.

CREATE TABLE api_keys (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    scopes          TEXT NOT NULL,
    key_hash        TEXT NOT NULL UNIQUE,
    key_prefix      TEXT NOT NULL,
    created_by      TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at      BIGINT NOT NULL,
    last_used_at    BIGINT,
    revoked_at      BIGINT
);
CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, created_at);
