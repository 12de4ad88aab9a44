//! The sync log: every read of a connection's change feed and every export
//! to a calendar is a [`Run`] that counts what it did, keeps the first
//! items it changed, shows its progress while it goes, and ends with an
//! outcome. The reads for `/admin/sync` and `/settings/calendars` and the
//! Sync now / Full resync requests live here too.

mod reads;

pub use reads::{detail, health, page, progress, runs_of_user};

use crate::model::Flash;
use crate::model::{
    ConnectionId, Provider, SyncAction, SyncCounts, SyncOutcome, SyncRunId, SyncTrigger,
    SYNC_ITEMS_KEPT,
};
use crate::server::error::{AppError, AppResult};
use crate::server::jobs::{Enqueue, JobError, Queue};
use crate::server::platform::db::activity::{self, Tallies};
use crate::server::platform::db::connection_calendars;
use crate::server::platform::db::sync_runs::{self as repo, NewItem, NewRun, RunState};
use crate::server::platform::db::{self, connections as connections_repo, Db, DbResult, UserScope};
use std::time::Instant;

/// One item a run changed.
pub struct Item<'a> {
    pub calendar_id: Option<&'a str>,
    pub external_id: &'a str,
    pub title: Option<&'a str>,
    /// Unix ms.
    pub starts_at: Option<i64>,
    pub detail: Option<String>,
}

/// What a run is for.
pub struct RunOf<'a> {
    pub owner: &'a UserScope,
    pub connection: ConnectionId,
    pub provider: Provider,
    pub trigger: SyncTrigger,
    /// The calendar, when the run reads or writes only one.
    pub calendar_id: Option<&'a str>,
    /// Feeds (calendars) it will read, for the progress bar.
    pub feeds_total: usize,
}

/// A run in progress. Counts and items collect in memory and reach the
/// log at each [`Run::checkpoint`] (once per page of a feed) and at the
/// end, so a 10,000-event import writes a few rows per page, not one per
/// event.
pub struct Run {
    db: Db,
    id: SyncRunId,
    owner: UserScope,
    provider: Provider,
    trigger: SyncTrigger,
    calendar_id: Option<String>,
    counts: SyncCounts,
    unsaved: Vec<NewItem>,
    items_seen: i64,
    items_saved: i64,
    feeds_done: i64,
    full_read: bool,
    started: Instant,
}

impl Run {
    pub async fn start(db: &Db, of: RunOf<'_>) -> DbResult<Run> {
        let id = SyncRunId::generate();
        let started_at = db::now_ms();
        if of.trigger != SyncTrigger::Export {
            // Feed runs of a connection never overlap (their jobs share a
            // coalescing key): one still `running` was cut off by a crash.
            repo::fail_abandoned(db, Some(of.connection), started_at).await?;
        }
        let mut writer = db.writer().await?;
        repo::start(
            &mut *writer,
            &NewRun {
                id,
                owner: of.owner,
                connection: of.connection,
                provider: of.provider.as_str(),
                calendar_id: of.calendar_id,
                trigger: of.trigger,
                feeds_total: of.feeds_total.max(1) as i64,
                started_at,
            },
        )
        .await?;
        Ok(Run {
            db: db.clone(),
            id,
            owner: *of.owner,
            provider: of.provider,
            trigger: of.trigger,
            calendar_id: of.calendar_id.map(str::to_owned),
            counts: SyncCounts::default(),
            unsaved: Vec::new(),
            items_seen: 0,
            items_saved: 0,
            feeds_done: 0,
            full_read: false,
            started: Instant::now(),
        })
    }

    pub fn id(&self) -> SyncRunId {
        self.id
    }

    /// Counts one item; the first [`SYNC_ITEMS_KEPT`] are kept in the log.
    pub fn note(&mut self, action: SyncAction, item: Item<'_>) {
        self.counts.add(action);
        metrics::counter!("calbridge_sync_items_total", "provider" => self.provider.as_str(), "action" => action.as_str())
            .increment(1);
        if action == SyncAction::Conflict {
            metrics::counter!("calbridge_sync_conflicts_total", "provider" => self.provider.as_str())
                .increment(1);
        }
        self.items_seen += 1;
        if self.items_seen <= SYNC_ITEMS_KEPT {
            self.unsaved.push(NewItem {
                action,
                calendar_id: item.calendar_id.map(str::to_owned),
                external_id: item.external_id.to_owned(),
                title: item.title.map(str::to_owned),
                starts_at: item.starts_at,
                detail: item.detail,
            });
        }
    }

    /// The calendar whose feed was read, for a single-calendar run.
    pub fn set_calendar(&mut self, calendar_id: &str) {
        self.calendar_id = Some(calendar_id.to_owned());
    }

    /// A feed was read from scratch (no cursor, or an expired one).
    pub fn read_from_scratch(&mut self) {
        self.full_read = true;
    }

    /// One feed read to its end.
    pub fn feed_done(&mut self) {
        self.feeds_done += 1;
    }

    /// Writes what collected since the last checkpoint: the items and the
    /// run's counts and progress.
    pub async fn checkpoint(&mut self) -> DbResult<()> {
        self.save(SyncOutcome::Running, None).await
    }

    /// Ends the run with the job's result and records its metrics.
    pub async fn finish(mut self, result: &Result<(), JobError>) -> DbResult<()> {
        let (outcome, error) = match result {
            Ok(()) if self.counts.errors > 0 => (SyncOutcome::Partial, None),
            Ok(()) => (SyncOutcome::Succeeded, None),
            Err(e) => (SyncOutcome::Failed, Some(e.to_string())),
        };
        self.save(outcome, error.as_deref()).await?;
        let provider = self.provider.as_str();
        metrics::counter!("calbridge_sync_runs_total", "provider" => provider, "trigger" => self.trigger.as_str(), "outcome" => outcome.as_str())
            .increment(1);
        metrics::histogram!("calbridge_sync_seconds", "provider" => provider, "trigger" => self.trigger.as_str())
            .record(self.started.elapsed().as_secs_f64());
        Ok(())
    }

    async fn save(&mut self, outcome: SyncOutcome, error: Option<&str>) -> DbResult<()> {
        let mut tx = self.db.begin_write().await?;
        repo::add_items(&mut *tx, self.id, self.items_saved, &self.unsaved).await?;
        repo::update(
            &mut *tx,
            &self.owner.tenant,
            self.id,
            &RunState {
                counts: &self.counts,
                feeds_done: self.feeds_done,
                full_read: self.full_read,
                calendar_id: self.calendar_id.as_deref(),
                outcome,
                error,
            },
        )
        .await?;
        if outcome != SyncOutcome::Running {
            let mut tallies = Tallies::default();
            tallies
                .at(
                    &self.owner.tenant,
                    self.provider,
                    activity::hour_of(db::now_ms()),
                )
                .sync(outcome);
            activity::add(&mut tx, &tallies).await?;
        }
        tx.commit().await.map_err(db::DbError::from)?;
        self.items_saved += self.unsaved.len() as i64;
        self.unsaved.clear();
        Ok(())
    }
}

/// Queues a sync of the connection now (Sync now), or a full resync that
/// forgets the feeds' cursors first, so the next read, whichever job it
/// is, reads everything again. The connection must be the caller's or,
/// for an admin, in the caller's tenant.
pub async fn request(
    db: &Db,
    queue: &Queue,
    scope: &db::TenantScope,
    owner: Option<&UserScope>,
    connection: ConnectionId,
    full: bool,
) -> AppResult<()> {
    let found = match owner {
        Some(owner) => connections_repo::get_for_user(db.pool(), owner, connection).await?,
        None => connections_repo::get_in_tenant(db.pool(), scope, connection).await?,
    };
    if found.state != crate::model::ConnectionState::Connected {
        return Err(AppError::Invalid(Flash::ReconnectFirst));
    }
    let trigger = if full {
        SyncTrigger::Resync
    } else {
        SyncTrigger::Manual
    };
    let mut tx = db.begin_write().await?;
    if full {
        connection_calendars::forget_cursors(&mut tx, scope, connection).await?;
    }
    Queue::enqueue_in(&mut tx, &Enqueue::sync(scope, connection, trigger)).await?;
    tx.commit().await.map_err(db::DbError::from)?;
    queue.wake();
    Ok(())
}
