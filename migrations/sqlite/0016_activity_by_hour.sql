-- The admin overview's figures, one row per tenant, provider and hour
-- (hours since the Unix epoch, UTC): written with the events they count,
-- so the overview reads at most 24 × 3 rows for a day and 168 × 3 for a
-- week however many deliveries there were.
CREATE TABLE activity_by_hour (
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    provider        TEXT NOT NULL,
    hour            BIGINT NOT NULL,
    -- Webhook deliveries received in the hour, by where they stand now
    -- (a queued delivery moves to processed or failed when it is done).
    queued          BIGINT NOT NULL DEFAULT 0,
    processed       BIGINT NOT NULL DEFAULT 0,
    duplicate       BIGINT NOT NULL DEFAULT 0,
    ignored         BIGINT NOT NULL DEFAULT 0,
    rejected        BIGINT NOT NULL DEFAULT 0,
    failed          BIGINT NOT NULL DEFAULT 0,
    -- Acknowledgement latency (arrival to the durable commit's answer)
    -- of the deliveries acknowledged in the hour: count, sum and maximum
    -- in microseconds, and a histogram (upper bounds 2, 5, 10, 25, 50,
    -- 100 and 250 ms, then everything slower).
    acked           BIGINT NOT NULL DEFAULT 0,
    ack_us_sum      BIGINT NOT NULL DEFAULT 0,
    ack_us_max      BIGINT NOT NULL DEFAULT 0,
    ack_le_2ms      BIGINT NOT NULL DEFAULT 0,
    ack_le_5ms      BIGINT NOT NULL DEFAULT 0,
    ack_le_10ms     BIGINT NOT NULL DEFAULT 0,
    ack_le_25ms     BIGINT NOT NULL DEFAULT 0,
    ack_le_50ms     BIGINT NOT NULL DEFAULT 0,
    ack_le_100ms    BIGINT NOT NULL DEFAULT 0,
    ack_le_250ms    BIGINT NOT NULL DEFAULT 0,
    ack_slower      BIGINT NOT NULL DEFAULT 0,
    -- Sync runs that ended in the hour, by outcome.
    sync_succeeded  BIGINT NOT NULL DEFAULT 0,
    sync_partial    BIGINT NOT NULL DEFAULT 0,
    sync_failed     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, hour, provider)
);

-- What was recorded before this table existed (latency was not stored).
INSERT INTO activity_by_hour (tenant_id, provider, hour, queued, processed, ignored, rejected, failed)
SELECT tenant_id, provider, received_at / 3600000,
       SUM(CASE WHEN result = 'queued' THEN 1 ELSE 0 END),
       SUM(CASE WHEN result = 'processed' THEN 1 ELSE 0 END),
       SUM(CASE WHEN result = 'ignored' THEN 1 ELSE 0 END),
       SUM(CASE WHEN result = 'rejected' THEN 1 ELSE 0 END),
       SUM(CASE WHEN result = 'failed' THEN 1 ELSE 0 END)
FROM webhook_events WHERE tenant_id IS NOT NULL
GROUP BY tenant_id, provider, received_at / 3600000;

INSERT INTO activity_by_hour (tenant_id, provider, hour, sync_succeeded, sync_partial, sync_failed)
SELECT tenant_id, provider, finished_at / 3600000,
       SUM(CASE WHEN outcome = 'succeeded' THEN 1 ELSE 0 END),
       SUM(CASE WHEN outcome = 'partial' THEN 1 ELSE 0 END),
       SUM(CASE WHEN outcome = 'failed' THEN 1 ELSE 0 END)
FROM sync_runs WHERE finished_at IS NOT NULL AND outcome <> 'running'
GROUP BY tenant_id, provider, finished_at / 3600000
ON CONFLICT (tenant_id, hour, provider) DO UPDATE SET
    sync_succeeded = excluded.sync_succeeded,
    sync_partial = excluded.sync_partial,
    sync_failed = excluded.sync_failed;

