-- Whether a mirrored event blocks time for booking: free/transparent events
-- and invitations the owner declined do not.
ALTER TABLE meetings ADD COLUMN blocks_time BIGINT NOT NULL DEFAULT 1;
-- All-day events keep their date semantics: starts_at/ends_at are midnight
-- UTC of the first and the (exclusive) last date, read in the host's zone.
ALTER TABLE meetings ADD COLUMN all_day BIGINT NOT NULL DEFAULT 0;
