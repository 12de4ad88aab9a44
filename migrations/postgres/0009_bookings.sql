-- Bookings made against a host's event types. No two confirmed bookings of
-- one host overlap: bookings of a host are serialised (a lock on the
-- profile row) and checked first, and an exclusion constraint stands
-- behind that.

-- btree_gist gives text equality a GiST operator class. In public, so a
-- schema dropped with CASCADE never takes it along; parallel migrations may
-- race to create it.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS btree_gist SCHEMA public;
EXCEPTION WHEN unique_violation OR duplicate_object THEN
    NULL;
END
$$;

CREATE TABLE bookings (
    id                      TEXT PRIMARY KEY,
    tenant_id               TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    host_user_id            TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    event_type_id           TEXT REFERENCES event_types(id) ON DELETE SET NULL,
    starts_at               BIGINT NOT NULL,
    ends_at                 BIGINT NOT NULL CHECK (ends_at > starts_at),
    -- The event type's buffers when booked, so later edits do not move them.
    buffer_before_minutes   BIGINT NOT NULL DEFAULT 0,
    buffer_after_minutes    BIGINT NOT NULL DEFAULT 0,
    status                  TEXT NOT NULL CHECK (status IN ('confirmed', 'canceled')),
    attendee_name           TEXT NOT NULL,
    attendee_email          TEXT NOT NULL,
    attendee_phone          TEXT,
    attendee_time_zone      TEXT NOT NULL,
    purpose                 TEXT,
    -- The attendee's manage link carries the token; only its hash is kept.
    manage_token_hash       TEXT NOT NULL UNIQUE,
    -- A repeat with the same key returns the first result; the request's
    -- hash tells a repeat from a different request under the same key.
    idempotency_key         TEXT,
    request_hash            TEXT,
    created_at              BIGINT NOT NULL,
    updated_at              BIGINT NOT NULL,
    canceled_at             BIGINT,
    UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX bookings_by_host ON bookings (host_user_id, starts_at);
ALTER TABLE bookings ADD CONSTRAINT bookings_do_not_overlap
    EXCLUDE USING gist (host_user_id WITH =, int8range(starts_at, ends_at) WITH &&)
    WHERE (status = 'confirmed');
