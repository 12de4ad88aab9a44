-- Booking: a host's public profile and their event types. Hours are
-- minutes after midnight in the profile's zone.

CREATE TABLE booking_profiles (
    user_id         TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    -- Public (/book/{slug}): lower case, unique across tenants.
    slug            TEXT NOT NULL UNIQUE,
    time_zone       TEXT NOT NULL,
    -- JSON: seven lists, Monday first, of {"start": minute, "end": minute}.
    weekly_hours    TEXT NOT NULL,
    -- JSON: {"YYYY-MM-DD": [{"start", "end"}, …]}; an empty list closes the date.
    date_overrides  TEXT NOT NULL DEFAULT '{}',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX booking_profiles_by_tenant ON booking_profiles (tenant_id);

CREATE TABLE event_types (
    id                      TEXT PRIMARY KEY,
    tenant_id               TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id                 TEXT NOT NULL REFERENCES booking_profiles(user_id) ON DELETE CASCADE,
    slug                    TEXT NOT NULL,
    name                    TEXT NOT NULL,
    duration_minutes        BIGINT NOT NULL CHECK (duration_minutes BETWEEN 5 AND 720),
    location                TEXT NOT NULL CHECK (location IN ('google_meet', 'microsoft_teams', 'phone', 'in_person', 'none')),
    -- The address or phone number of in-person and phone meetings.
    location_detail         TEXT,
    buffer_before_minutes   BIGINT NOT NULL DEFAULT 0 CHECK (buffer_before_minutes BETWEEN 0 AND 240),
    buffer_after_minutes    BIGINT NOT NULL DEFAULT 0 CHECK (buffer_after_minutes BETWEEN 0 AND 240),
    minimum_notice_minutes  BIGINT NOT NULL DEFAULT 0 CHECK (minimum_notice_minutes >= 0),
    window_days             BIGINT NOT NULL DEFAULT 60 CHECK (window_days BETWEEN 1 AND 365),
    slot_interval_minutes   BIGINT NOT NULL CHECK (slot_interval_minutes BETWEEN 5 AND 720),
    daily_limit             BIGINT CHECK (daily_limit > 0),
    created_at              BIGINT NOT NULL,
    updated_at              BIGINT NOT NULL,
    UNIQUE (user_id, slug)
);
