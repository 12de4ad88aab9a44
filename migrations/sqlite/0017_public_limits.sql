-- Limits on what a request may make calbridge do: bookings per client
-- address, public bookings per host, cancel/reschedule churn, live calendar
-- reads per host, requests per API key. One row per tenant, limit, subject
-- (an address, a host, a booking, a key) and fixed window; the count is
-- taken and checked in one statement, so it holds across instances.
-- `refused` counts what the limit turned away, for /admin and /metrics.
CREATE TABLE rate_limits (
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    limit_name      TEXT NOT NULL,
    subject         TEXT NOT NULL,
    window_start    BIGINT NOT NULL,
    window_end      BIGINT NOT NULL,
    hits            BIGINT NOT NULL DEFAULT 0,
    refused         BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, limit_name, subject, window_start)
);
CREATE INDEX rate_limits_by_window ON rate_limits (tenant_id, window_start);

-- The iCalendar SEQUENCE of a booking: one more on every move and
-- cancellation, so calendar apps take the newest copy.
ALTER TABLE bookings ADD COLUMN sequence BIGINT NOT NULL DEFAULT 0;

-- How many bookings strangers may make on a host's public page a day.
ALTER TABLE booking_profiles ADD COLUMN public_daily_limit BIGINT NOT NULL DEFAULT 20;

-- Scopes that say exactly what they grant. A key keeps what it could do:
-- availability:read also read bookings and appointments; bookings:write
-- also read bookings and read and wrote appointments.
UPDATE api_keys SET scopes = TRIM(REPLACE(REPLACE(' ' || scopes || ' ',
    ' availability:read ', ' availability:read bookings:read appointments:read '),
    ' bookings:write ', ' bookings:read bookings:write appointments:read appointments:write '));

-- Requests per minute this key may make (the default is the documented one).
ALTER TABLE api_keys ADD COLUMN rate_limit_per_minute BIGINT NOT NULL DEFAULT 120;
