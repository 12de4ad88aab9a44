-- Foundation: tenants, users, sessions, invites and the token vault.
-- Ids are UUID text, times are unix milliseconds; the PostgreSQL schema matches.

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    email          TEXT NOT NULL,
    name           TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    time_zone      TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    UNIQUE (tenant_id, email)
);
CREATE INDEX users_by_email ON users (email);

CREATE TABLE sessions (
    token_hash    TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (tenant_id, user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

CREATE TABLE invites (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    token_hash   TEXT NOT NULL UNIQUE,
    email        TEXT,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    created_by   TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    accepted_at  BIGINT,
    accepted_by  TEXT REFERENCES users(id) ON DELETE SET NULL,
    revoked_at   BIGINT
);
CREATE INDEX invites_by_tenant ON invites (tenant_id, created_at);

-- Data keys, wrapped by the master key. state: active | retired.
CREATE TABLE vault_keys (
    id          TEXT PRIMARY KEY,
    wrapped     BYTEA NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('active', 'retired')),
    created_at  BIGINT NOT NULL
);

-- Every secret calbridge stores, encrypted; the associated data is
-- (tenant_id, owner_kind, owner_id, purpose).
CREATE TABLE secrets (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    owner_kind  TEXT NOT NULL,
    owner_id    TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    key_id      TEXT NOT NULL REFERENCES vault_keys(id),
    nonce       BYTEA NOT NULL,
    ciphertext  BYTEA NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (tenant_id, owner_kind, owner_id, purpose)
);
