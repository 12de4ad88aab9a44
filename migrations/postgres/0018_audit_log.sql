-- The audit trail: who did what and when, for every security-relevant
-- action. Rows are only ever added (and dropped after the retention);
-- a request limit tripped many times in a minute is one row whose count
-- grows (its dedupe key names the limit and the minute).
CREATE TABLE audit_log (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    at              BIGINT NOT NULL,
    -- user, operator (the command line), visitor (the public pages),
    -- system (calbridge itself).
    actor_kind      TEXT NOT NULL,
    actor_id        TEXT,
    actor_label     TEXT NOT NULL,
    -- api_key.created, member.role_changed, connection.disconnected, …
    action          TEXT NOT NULL,
    target_id       TEXT,
    target_label    TEXT NOT NULL DEFAULT '',
    detail          TEXT NOT NULL DEFAULT '',
    count           BIGINT NOT NULL DEFAULT 1,
    dedupe_key      TEXT,
    UNIQUE (tenant_id, dedupe_key)
);
CREATE INDEX audit_log_by_time ON audit_log (tenant_id, at, id);
CREATE INDEX audit_log_by_action ON audit_log (tenant_id, action, at);

