-- Where a booking lives on its host's calendar, and what was last written
-- there: the export job compares the booking with these columns and
-- creates, moves or deletes the event until they agree.
ALTER TABLE bookings ADD COLUMN export_connection_id TEXT REFERENCES connections(id) ON DELETE SET NULL;
ALTER TABLE bookings ADD COLUMN export_calendar_id TEXT;
ALTER TABLE bookings ADD COLUMN export_event_id TEXT;
ALTER TABLE bookings ADD COLUMN export_etag TEXT;
ALTER TABLE bookings ADD COLUMN exported_starts_at BIGINT;
ALTER TABLE bookings ADD COLUMN exported_ends_at BIGINT;
ALTER TABLE bookings ADD COLUMN exported_canceled BIGINT NOT NULL DEFAULT 0;
-- The Meet or Teams link the provider made (https: only).
ALTER TABLE bookings ADD COLUMN meeting_url TEXT;
-- Why the last try failed; cleared when the calendar agrees again.
ALTER TABLE bookings ADD COLUMN export_error TEXT;
CREATE INDEX bookings_by_exported_event ON bookings (export_connection_id, export_event_id);
