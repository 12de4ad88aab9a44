-- Token refreshes take a short lease on the connection instead of holding a
-- write transaction across the provider's token call; token_version makes
-- storing the refreshed tokens a compare-and-set.
ALTER TABLE connections ADD COLUMN refresh_lease_owner TEXT;
ALTER TABLE connections ADD COLUMN refresh_lease_until BIGINT;
ALTER TABLE connections ADD COLUMN token_version BIGINT NOT NULL DEFAULT 0;
