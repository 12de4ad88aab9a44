//! Request limits that hold across instances and restarts: counts in the
//! database, per tenant, limit, subject and fixed window (see
//! `db::rate_limits`). Several limits are taken together or not at all, so
//! a request refused by one does not use up another.
//!
//! Hand-rolled over a table rather than `governor`: the counts must be
//! shared by every instance on PostgreSQL, and what was refused is shown to
//! the tenant's admins.

use super::clock::Clock;
use super::db::audit_log::{self, NewEntry};
use super::db::rate_limits::{self as repo, Hit};
use super::db::{Backend, Db, DbError, DbResult, TenantScope, Tx};
use crate::model::AuditAction;
use crate::model::TenantId;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;

/// Every limit calbridge enforces, by the name it is counted under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitName {
    /// Public bookings from one client address, per hour and per day.
    BookingsPerAddressHour,
    BookingsPerAddressDay,
    /// Public bookings of one host per day (the host's setting).
    PublicBookingsPerHost,
    /// Upcoming bookings one attendee e-mail holds with one host.
    UpcomingPerAttendee,
    /// Cancels and reschedules through one manage link, per day.
    ChurnPerManageLink,
    /// Cancels and reschedules from one client address, per hour.
    ChurnPerAddress,
    /// Live reads of one host's calendars before bookings, per minute.
    LiveReadsPerHost,
    /// Requests of one API key, per minute.
    ApiKey,
}

impl LimitName {
    pub const ALL: [LimitName; 8] = [
        LimitName::BookingsPerAddressHour,
        LimitName::BookingsPerAddressDay,
        LimitName::PublicBookingsPerHost,
        LimitName::UpcomingPerAttendee,
        LimitName::ChurnPerManageLink,
        LimitName::ChurnPerAddress,
        LimitName::LiveReadsPerHost,
        LimitName::ApiKey,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LimitName::BookingsPerAddressHour => "bookings_per_address_hour",
            LimitName::BookingsPerAddressDay => "bookings_per_address_day",
            LimitName::PublicBookingsPerHost => "public_bookings_per_host_day",
            LimitName::UpcomingPerAttendee => "upcoming_per_attendee",
            LimitName::ChurnPerManageLink => "changes_per_manage_link_day",
            LimitName::ChurnPerAddress => "changes_per_address_hour",
            LimitName::LiveReadsPerHost => "live_reads_per_host_minute",
            LimitName::ApiKey => "api_key_minute",
        }
    }

    /// What the limit is, for admins.
    pub fn description(self) -> &'static str {
        match self {
            LimitName::BookingsPerAddressHour => "Bookings from one address in an hour",
            LimitName::BookingsPerAddressDay => "Bookings from one address in a day",
            LimitName::PublicBookingsPerHost => "Public bookings of one host in a day",
            LimitName::UpcomingPerAttendee => "Upcoming bookings of one e-mail with one host",
            LimitName::ChurnPerManageLink => "Cancels and reschedules of one booking in a day",
            LimitName::ChurnPerAddress => "Cancels and reschedules from one address in an hour",
            LimitName::LiveReadsPerHost => "Live calendar reads of one host in a minute",
            LimitName::ApiKey => "Requests of one API key in a minute",
        }
    }

    pub fn named(name: &str) -> Option<LimitName> {
        LimitName::ALL.into_iter().find(|l| l.as_str() == name)
    }
}

/// A window's length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    Minute,
    Hour,
    Day,
}

impl Window {
    pub fn ms(self) -> i64 {
        match self {
            Window::Minute => 60_000,
            Window::Hour => 3_600_000,
            Window::Day => 86_400_000,
        }
    }

    /// The window holding `now`: `[start, end)`.
    pub fn around(self, now: i64) -> (i64, i64) {
        let start = now - now.rem_euclid(self.ms());
        (start, start + self.ms())
    }
}

/// One limit on one subject.
#[derive(Clone, Debug)]
pub struct Limit {
    pub name: LimitName,
    pub subject: String,
    pub window: Window,
    pub max: i64,
}

/// A request a limit turned away, and when the window ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refused {
    pub limit: LimitName,
    pub retry_after_secs: u64,
}

/// A limit's state after a request it let through (for `RateLimit-*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Allowance {
    pub max: i64,
    pub remaining: i64,
    pub reset_secs: u64,
}

/// A refusal on the audit trail: one entry per limit (per key for API
/// keys) and minute, counting the refusals in it.
async fn audit_trip(
    tx: &mut Tx,
    scope: &TenantScope,
    name: LimitName,
    subject: &str,
    now: i64,
) -> DbResult<()> {
    let minute = now.div_euclid(60_000);
    let (actor_kind, actor_label, dedupe_key) = match name {
        LimitName::ApiKey => (
            "api_key",
            subject,
            format!("limit:{}:{subject}:{minute}", name.as_str()),
        ),
        _ => (
            "visitor",
            "visitors",
            format!("limit:{}:{minute}", name.as_str()),
        ),
    };
    let id = uuid::Uuid::now_v7().to_string();
    audit_log::insert(
        &mut **tx,
        scope,
        &NewEntry {
            id: &id,
            at: now,
            actor_kind,
            actor_id: None,
            actor_label,
            action: AuditAction::LimitTripped.as_str(),
            target_id: None,
            target_label: name.description(),
            detail: "answered 429 with when to try again",
        },
        Some(&dedupe_key),
    )
    .await
}

/// Counts kept in this process: tenant, limit, subject → window start, hits.
type LocalCounts = Mutex<HashMap<(TenantId, &'static str, String), (i64, i64)>>;

#[derive(Clone)]
pub struct Limits {
    db: Db,
    clock: Arc<Clock>,
    /// On SQLite (one instance by design) the per-request limits count in
    /// this process rather than write through the write gate on every API
    /// request; on PostgreSQL every instance shares the table.
    local: Option<Arc<LocalCounts>>,
}

fn secs_until(end: i64, now: i64) -> u64 {
    // Rounded up, at least a second: "retry in 0 s" would be a busy loop.
    u64::try_from((end - now + 999) / 1000).unwrap_or(0).max(1)
}

impl Limits {
    pub fn new(db: Db, clock: Arc<Clock>) -> Self {
        let local = (db.backend() == Backend::Sqlite).then(Arc::default);
        Self { db, clock, local }
    }

    /// One limit on a hot path (every API request): counted in this
    /// process on SQLite, in the database on PostgreSQL. A refusal is
    /// recorded in the database either way.
    pub async fn take_one(
        &self,
        scope: &TenantScope,
        limit: &Limit,
    ) -> DbResult<Result<Allowance, Refused>> {
        let Some(local) = &self.local else {
            return Ok(self
                .take(scope, std::slice::from_ref(limit))
                .await?
                .map(|allowances| allowances[0]));
        };
        let now = self.clock.now_ms();
        let (start, end) = limit.window.around(now);
        let counted = {
            let mut counts = local.lock().unwrap_or_else(|p| p.into_inner());
            if counts.len() > 100_000 {
                counts.retain(|_, (window, _)| *window >= start);
            }
            let key = (
                scope.tenant_id(),
                limit.name.as_str(),
                limit.subject.clone(),
            );
            let entry = counts.entry(key).or_insert((start, 0));
            if entry.0 != start {
                *entry = (start, 0);
            }
            (entry.1 < limit.max).then(|| {
                entry.1 += 1;
                entry.1
            })
        };
        let reset_secs = secs_until(end, now);
        match counted {
            Some(count) => Ok(Ok(Allowance {
                max: limit.max,
                remaining: limit.max - count,
                reset_secs,
            })),
            None => {
                self.record_refusal(scope, limit.name, &limit.subject, limit.window, limit.max)
                    .await?;
                Ok(Err(Refused {
                    limit: limit.name,
                    retry_after_secs: reset_secs,
                }))
            }
        }
    }

    /// Takes one hit on every limit, or none when any is full: then the
    /// first full one is counted as refused and returned.
    pub async fn take(
        &self,
        scope: &TenantScope,
        limits: &[Limit],
    ) -> DbResult<Result<Vec<Allowance>, Refused>> {
        let now = self.clock.now_ms();
        let hits: Vec<Hit<'_>> = limits
            .iter()
            .map(|limit| {
                let (window_start, window_end) = limit.window.around(now);
                Hit {
                    limit_name: limit.name.as_str(),
                    subject: &limit.subject,
                    window_start,
                    window_end,
                    max: limit.max,
                }
            })
            .collect();
        let mut tx = self.db.begin_write().await?;
        let mut allowances = Vec::with_capacity(hits.len());
        for (hit, limit) in hits.iter().zip(limits) {
            let Some(count) = repo::take(&mut *tx, scope, hit).await? else {
                tx.rollback().await.map_err(DbError::from)?;
                self.record(scope, hit, limit.name, now).await?;
                return Ok(Err(Refused {
                    limit: limit.name,
                    retry_after_secs: secs_until(hit.window_end, now),
                }));
            };
            allowances.push(Allowance {
                max: hit.max,
                remaining: (hit.max - count).max(0),
                reset_secs: secs_until(hit.window_end, now),
            });
        }
        tx.commit().await.map_err(DbError::from)?;
        Ok(Ok(allowances))
    }

    /// Counts a refusal decided elsewhere (a count kept in another table,
    /// like upcoming bookings, or in this process), so admins see it
    /// beside the others.
    pub async fn record_refusal(
        &self,
        scope: &TenantScope,
        name: LimitName,
        subject: &str,
        window: Window,
        max: i64,
    ) -> DbResult<()> {
        let now = self.clock.now_ms();
        let (window_start, window_end) = window.around(now);
        let hit = Hit {
            limit_name: name.as_str(),
            subject,
            window_start,
            window_end,
            max,
        };
        self.record(scope, &hit, name, now).await
    }

    /// A refusal counted for `/admin` and `/metrics` and put on the audit
    /// trail, in one transaction.
    async fn record(
        &self,
        scope: &TenantScope,
        hit: &Hit<'_>,
        name: LimitName,
        now: i64,
    ) -> DbResult<()> {
        let mut tx = self.db.begin_write().await?;
        repo::refused(&mut *tx, scope, hit).await?;
        audit_trip(&mut tx, scope, name, hit.subject, now).await?;
        tx.commit().await.map_err(DbError::from)?;
        metrics::counter!("calbridge_rate_limited_total", "limit" => name.as_str()).increment(1);
        tracing::info!(limit = name.as_str(), "request refused by a limit");
        Ok(())
    }

    /// What each limit refused in the tenant since `since`.
    pub async fn refusals_since(
        &self,
        scope: &TenantScope,
        since: i64,
    ) -> DbResult<Vec<(LimitName, i64)>> {
        Ok(repo::refusals_since(self.db.pool(), scope, since)
            .await?
            .into_iter()
            .filter_map(|r| LimitName::named(&r.limit_name).map(|n| (n, r.refused)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_aligned_and_half_open() {
        assert_eq!(Window::Minute.around(0), (0, 60_000));
        assert_eq!(Window::Minute.around(59_999), (0, 60_000));
        assert_eq!(Window::Minute.around(60_000), (60_000, 120_000));
        assert_eq!(Window::Hour.around(3_600_001), (3_600_000, 7_200_000));
        assert_eq!(Window::Day.around(-1), (-86_400_000, 0));
    }

    #[test]
    fn retry_after_rounds_up_and_is_never_zero() {
        assert_eq!(secs_until(60_000, 0), 60);
        assert_eq!(secs_until(60_000, 59_999), 1);
        assert_eq!(secs_until(60_000, 59_001), 1);
        assert_eq!(secs_until(60_000, 58_999), 2);
        assert_eq!(secs_until(60_000, 60_000), 1);
    }

    #[test]
    fn every_limit_has_a_distinct_name_that_reads_back() {
        for limit in LimitName::ALL {
            assert_eq!(LimitName::named(limit.as_str()), Some(limit));
        }
        let names: std::collections::HashSet<_> =
            LimitName::ALL.iter().map(|l| l.as_str()).collect();
        assert_eq!(names.len(), LimitName::ALL.len());
    }
}
