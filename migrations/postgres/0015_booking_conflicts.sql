-- A booking's event changed in the calendar while the booking changed in
-- calbridge (the attendee moved or canceled it): the calendar's side,
-- kept until a person chooses one (the conflict queue). NULL: no conflict.
ALTER TABLE bookings ADD COLUMN conflict_starts_at BIGINT;
ALTER TABLE bookings ADD COLUMN conflict_ends_at BIGINT;
ALTER TABLE bookings ADD COLUMN conflict_canceled BIGINT;
CREATE INDEX bookings_in_conflict ON bookings (tenant_id, host_user_id) WHERE conflict_canceled IS NOT NULL;
