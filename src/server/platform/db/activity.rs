//! The admin overview's figures per tenant, provider and hour
//! (`activity_by_hour`). They are added to in the same transactions as the
//! records they count (a delivery stored, a delivery processed, a sync run
//! ended), so the overview reads a bounded number of rows however many
//! deliveries there were.

use super::{DbError, DbResult, TenantScope};
use crate::model::{Provider, SyncOutcome};
use sqlx::{Any, AnyConnection, Executor, FromRow};
use std::collections::BTreeMap;

const HOUR_MS: i64 = 3_600_000;

/// The hour (since the Unix epoch, UTC) a time in unix ms falls in.
pub fn hour_of(ms: i64) -> i64 {
    ms.div_euclid(HOUR_MS)
}

/// Upper bounds (ms) of the acknowledgement latency histogram; one more
/// bucket holds everything slower.
pub const ACK_BOUNDS_MS: [i64; 7] = [2, 5, 10, 25, 50, 100, 250];

/// What happened to the deliveries of one hour in the overview's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counted {
    Queued,
    Processed,
    Duplicate,
    Ignored,
    Rejected,
    Failed,
}

/// The counts of one tenant, provider and hour; also a change to add to
/// them (counts may be negative: a delivery moving from queued to
/// processed is −1 and +1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromRow)]
pub struct Tally {
    pub queued: i64,
    pub processed: i64,
    pub duplicate: i64,
    pub ignored: i64,
    pub rejected: i64,
    pub failed: i64,
    pub acked: i64,
    pub ack_us_sum: i64,
    pub ack_us_max: i64,
    pub ack_le_2ms: i64,
    pub ack_le_5ms: i64,
    pub ack_le_10ms: i64,
    pub ack_le_25ms: i64,
    pub ack_le_50ms: i64,
    pub ack_le_100ms: i64,
    pub ack_le_250ms: i64,
    pub ack_slower: i64,
    pub sync_succeeded: i64,
    pub sync_partial: i64,
    pub sync_failed: i64,
}

/// The value columns in [`Tally`]'s field order.
const COLUMNS: [&str; 20] = [
    "queued",
    "processed",
    "duplicate",
    "ignored",
    "rejected",
    "failed",
    "acked",
    "ack_us_sum",
    "ack_us_max",
    "ack_le_2ms",
    "ack_le_5ms",
    "ack_le_10ms",
    "ack_le_25ms",
    "ack_le_50ms",
    "ack_le_100ms",
    "ack_le_250ms",
    "ack_slower",
    "sync_succeeded",
    "sync_partial",
    "sync_failed",
];

impl Tally {
    fn values(&self) -> [i64; 20] {
        let [b0, b1, b2, b3, b4, b5, b6, b7] = self.ack_histogram();
        [
            self.queued,
            self.processed,
            self.duplicate,
            self.ignored,
            self.rejected,
            self.failed,
            self.acked,
            self.ack_us_sum,
            self.ack_us_max,
            b0,
            b1,
            b2,
            b3,
            b4,
            b5,
            b6,
            b7,
            self.sync_succeeded,
            self.sync_partial,
            self.sync_failed,
        ]
    }

    fn webhook_mut(&mut self, counted: Counted) -> &mut i64 {
        match counted {
            Counted::Queued => &mut self.queued,
            Counted::Processed => &mut self.processed,
            Counted::Duplicate => &mut self.duplicate,
            Counted::Ignored => &mut self.ignored,
            Counted::Rejected => &mut self.rejected,
            Counted::Failed => &mut self.failed,
        }
    }

    /// `n` deliveries more (or fewer) that stand as `counted`.
    pub fn count(&mut self, counted: Counted, n: i64) {
        *self.webhook_mut(counted) += n;
    }

    /// `n` deliveries moved from one result to another.
    pub fn moved(&mut self, from: Counted, to: Counted, n: i64) {
        if from != to {
            self.count(from, -n);
            self.count(to, n);
        }
    }

    /// Every delivery received, whatever became of it.
    pub fn deliveries(&self) -> i64 {
        self.queued + self.processed + self.duplicate + self.ignored + self.rejected + self.failed
    }

    /// One delivery acknowledged `micros` after it arrived.
    pub fn ack(&mut self, micros: i64) {
        let micros = micros.max(0);
        self.acked += 1;
        self.ack_us_sum += micros;
        self.ack_us_max = self.ack_us_max.max(micros);
        let bucket = ACK_BOUNDS_MS
            .iter()
            .position(|bound| micros <= bound * 1000)
            .unwrap_or(ACK_BOUNDS_MS.len());
        *self.ack_bucket_mut(bucket) += 1;
    }

    fn ack_bucket_mut(&mut self, bucket: usize) -> &mut i64 {
        match bucket {
            0 => &mut self.ack_le_2ms,
            1 => &mut self.ack_le_5ms,
            2 => &mut self.ack_le_10ms,
            3 => &mut self.ack_le_25ms,
            4 => &mut self.ack_le_50ms,
            5 => &mut self.ack_le_100ms,
            6 => &mut self.ack_le_250ms,
            _ => &mut self.ack_slower,
        }
    }

    /// The latency histogram's buckets, fastest first.
    pub fn ack_histogram(&self) -> [i64; 8] {
        [
            self.ack_le_2ms,
            self.ack_le_5ms,
            self.ack_le_10ms,
            self.ack_le_25ms,
            self.ack_le_50ms,
            self.ack_le_100ms,
            self.ack_le_250ms,
            self.ack_slower,
        ]
    }

    /// A sync run ended.
    pub fn sync(&mut self, outcome: SyncOutcome) {
        match outcome {
            SyncOutcome::Succeeded => self.sync_succeeded += 1,
            SyncOutcome::Partial => self.sync_partial += 1,
            SyncOutcome::Failed => self.sync_failed += 1,
            SyncOutcome::Running => {}
        }
    }

    /// Adds `other` (counts add, the maximum is the larger one).
    pub fn add(&mut self, other: &Tally) {
        let max = self.ack_us_max.max(other.ack_us_max);
        let mut sums = self.values();
        for (sum, value) in sums.iter_mut().zip(other.values()) {
            *sum += value;
        }
        *self = Tally::from_values(sums);
        self.ack_us_max = max;
    }

    fn from_values(v: [i64; 20]) -> Tally {
        Tally {
            queued: v[0],
            processed: v[1],
            duplicate: v[2],
            ignored: v[3],
            rejected: v[4],
            failed: v[5],
            acked: v[6],
            ack_us_sum: v[7],
            ack_us_max: v[8],
            ack_le_2ms: v[9],
            ack_le_5ms: v[10],
            ack_le_10ms: v[11],
            ack_le_25ms: v[12],
            ack_le_50ms: v[13],
            ack_le_100ms: v[14],
            ack_le_250ms: v[15],
            ack_slower: v[16],
            sync_succeeded: v[17],
            sync_partial: v[18],
            sync_failed: v[19],
        }
    }
}

/// Where a tally belongs: tenant, hour, provider (the table's key, in its
/// order, so every transaction touches rows in the same order and
/// concurrent writers on PostgreSQL wait instead of deadlocking).
pub type TallyKey = (String, i64, &'static str);

/// Changes to several rows, in key order.
#[derive(Debug, Default)]
pub struct Tallies(BTreeMap<TallyKey, Tally>);

impl Tallies {
    /// The tally of `scope`'s `provider` at `hour`, to change.
    pub fn at(&mut self, scope: &TenantScope, provider: Provider, hour: i64) -> &mut Tally {
        self.0
            .entry((scope.tenant(), hour, provider.as_str()))
            .or_default()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds every change of `other`.
    pub fn merge(&mut self, other: &Tallies) {
        for (key, tally) in &other.0 {
            self.0.entry(key.clone()).or_default().add(tally);
        }
    }
}

/// Rows per upsert statement (23 parameters each).
const ROWS_PER_STATEMENT: usize = 16;

/// unscoped: each row names its tenant (changes of several tenants are
/// written in one group commit).
///
/// Adds `tallies` to their rows, creating the rows that are missing.
pub async fn add(conn: &mut AnyConnection, tallies: &Tallies) -> DbResult<()> {
    let rows: Vec<_> = tallies.0.iter().collect();
    let updates = COLUMNS
        .iter()
        .map(|c| {
            if *c == "ack_us_max" {
                format!("{c} = CASE WHEN excluded.{c} > activity_by_hour.{c} THEN excluded.{c} ELSE activity_by_hour.{c} END")
            } else {
                format!("{c} = activity_by_hour.{c} + excluded.{c}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let values = super::values_placeholders(chunk.len(), 3 + COLUMNS.len());
        let sql = format!(
            "INSERT INTO activity_by_hour (tenant_id, hour, provider, {}) VALUES {values} \
             ON CONFLICT (tenant_id, hour, provider) DO UPDATE SET {updates}",
            COLUMNS.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for ((tenant, hour, provider), tally) in chunk {
            query = query.bind(tenant.as_str()).bind(*hour).bind(*provider);
            for value in tally.values() {
                query = query.bind(value);
            }
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// One row as read back.
pub struct HourRow {
    pub provider: Provider,
    pub hour: i64,
    pub tally: Tally,
}

#[derive(FromRow)]
struct Row {
    provider: String,
    hour: i64,
    #[sqlx(flatten)]
    tally: Tally,
}

/// The tenant's rows from `from_hour` on, oldest first: at most one per
/// provider and hour, read through the table's key.
pub async fn since<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    from_hour: i64,
) -> DbResult<Vec<HourRow>> {
    let sql = format!(
        "SELECT provider, hour, {} FROM activity_by_hour WHERE tenant_id = $1 AND hour >= $2 ORDER BY hour, provider",
        COLUMNS.join(", ")
    );
    let rows: Vec<Row> = sqlx::query_as(&sql)
        .bind(scope.tenant())
        .bind(from_hour)
        .fetch_all(ex)
        .await?;
    rows.into_iter()
        .map(|r| {
            Ok(HourRow {
                provider: r.provider.parse().map_err(DbError::Corrupt)?,
                hour: r.hour,
                tally: r.tally,
            })
        })
        .collect()
}

/// unscoped: housekeeping across all tenants (hours past retention).
pub async fn purge_before<'e, E: Executor<'e, Database = Any>>(ex: E, hour: i64) -> DbResult<u64> {
    Ok(sqlx::query("DELETE FROM activity_by_hour WHERE hour < $1")
        .bind(hour)
        .execute(ex)
        .await?
        .rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_are_counted_from_the_epoch_in_utc() {
        assert_eq!(hour_of(0), 0);
        assert_eq!(hour_of(HOUR_MS - 1), 0);
        assert_eq!(hour_of(HOUR_MS), 1);
        assert_eq!(hour_of(-1), -1);
    }

    #[test]
    fn a_latency_lands_in_the_first_bucket_that_holds_it() {
        let mut t = Tally::default();
        for micros in [0, 2_000, 2_001, 10_000, 250_000, 250_001, 9_000_000] {
            t.ack(micros);
        }
        assert_eq!(t.ack_histogram(), [2, 1, 1, 0, 0, 0, 1, 2]);
        assert_eq!(t.acked, 7);
        assert_eq!(t.ack_us_max, 9_000_000);
        assert_eq!(t.ack_us_sum, 9_514_002);
    }

    #[test]
    fn a_negative_clock_step_counts_as_zero() {
        let mut t = Tally::default();
        t.ack(-5);
        assert_eq!((t.ack_us_sum, t.ack_le_2ms), (0, 1));
    }

    #[test]
    fn adding_sums_counts_and_keeps_the_larger_maximum() {
        let mut a = Tally::default();
        a.count(Counted::Queued, 3);
        a.ack(40_000);
        a.sync(SyncOutcome::Failed);
        let mut b = Tally::default();
        b.moved(Counted::Queued, Counted::Processed, 2);
        b.ack(1_000);
        b.sync(SyncOutcome::Running);
        a.add(&b);
        assert_eq!((a.queued, a.processed, a.deliveries()), (1, 2, 3));
        assert_eq!((a.acked, a.ack_us_sum, a.ack_us_max), (2, 41_000, 40_000));
        assert_eq!((a.ack_le_2ms, a.ack_le_50ms, a.sync_failed), (1, 1, 1));
    }

    #[test]
    fn moving_to_the_same_result_changes_nothing() {
        let mut t = Tally::default();
        t.moved(Counted::Failed, Counted::Failed, 4);
        assert_eq!(t, Tally::default());
    }
}
