//! The durable job queue: every piece of background work (webhook
//! processing, syncs, subscription renewals, token refreshes, clean-ups)
//! is a row in `jobs`, claimed by a worker with a lease.
//!
//! At-least-once: a worker that dies leaves its lease to run out and the job
//! runs again, so every handler is idempotent. Workers wake as soon as a job
//! is queued (in-process notify, plus `LISTEN/NOTIFY` across instances on
//! PostgreSQL) and otherwise look for due jobs every second.

pub mod housekeeping;
mod kind;
pub mod scheduler;

pub use kind::Job;

use crate::model::JobId;
use crate::server::error::AppError;
use crate::server::platform::db::jobs::{self as repo, NewJob};
use crate::server::platform::db::{self, Db, DbError, DbResult, TenantScope, Tx};
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify, Semaphore};
use tokio::task::JoinSet;

/// How long a claim lasts without a heartbeat.
const LEASE: Duration = Duration::from_secs(30);
const HEARTBEAT: Duration = Duration::from_secs(10);
/// The slowest a worker looks for due jobs when nothing wakes it.
const IDLE_POLL: Duration = Duration::from_secs(1);
/// Jobs one instance runs at a time.
const CONCURRENCY: usize = 8;
/// How long shutdown waits for running jobs before returning their leases.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
pub const DEFAULT_MAX_ATTEMPTS: i64 = 8;

/// Why a job attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth trying again later (network trouble, provider 5xx, …).
    #[error("{0}")]
    Retry(String),
    /// Trying again cannot help (the row is gone, bad payload, …).
    #[error("{0}")]
    Permanent(String),
}

impl From<AppError> for JobError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::NotFound => JobError::Permanent("no longer exists".into()),
            AppError::Invalid(flash) => JobError::Permanent(flash.code().into()),
            other => JobError::Retry(other.to_string()),
        }
    }
}

impl From<DbError> for JobError {
    fn from(e: DbError) -> Self {
        AppError::from(e).into()
    }
}

impl From<crate::server::platform::vault::VaultError> for JobError {
    fn from(e: crate::server::platform::vault::VaultError) -> Self {
        AppError::from(e).into()
    }
}

/// Exponential backoff with full jitter: about 2 s, 4 s, 8 s … capped at
/// 10 minutes, so retries from many jobs spread out.
pub fn backoff(attempt: i64) -> Duration {
    let exp = attempt.clamp(1, 20) as u32;
    let cap_ms = (1000u64 << exp).min(10 * 60 * 1000);
    let jittered = rand::thread_rng().gen_range(cap_ms / 2..=cap_ms);
    Duration::from_millis(jittered)
}

/// A job to queue.
pub struct Enqueue {
    pub tenant: Option<TenantScope>,
    pub job: Job,
    payload: serde_json::Value,
    pub coalesce_key: Option<String>,
    pub run_at: i64,
}

impl Enqueue {
    pub fn now(tenant: Option<&TenantScope>, job: Job) -> Self {
        Enqueue {
            tenant: tenant.copied(),
            payload: job.payload(),
            job,
            coalesce_key: None,
            run_at: db::now_ms(),
        }
    }

    /// A sync of the connection's feeds: one pending at a time, however
    /// many notifications or requests arrive (the first one's trigger is
    /// the run's).
    pub fn sync(
        tenant: &TenantScope,
        connection: crate::model::ConnectionId,
        trigger: crate::model::SyncTrigger,
    ) -> Self {
        Enqueue::now(
            Some(tenant),
            Job::SyncConnection {
                connection,
                trigger,
            },
        )
        .coalesced(format!("sync:{connection}"))
    }

    pub fn coalesced(mut self, key: impl Into<String>) -> Self {
        self.coalesce_key = Some(key.into());
        self
    }

    pub fn at(mut self, run_at: i64) -> Self {
        self.run_at = run_at;
        self
    }

    /// How the storage layer takes it.
    pub(crate) fn as_new_job(&self) -> NewJob<'_> {
        NewJob {
            tenant: self.tenant.as_ref(),
            kind: self.job.kind(),
            payload: &self.payload,
            coalesce_key: self.coalesce_key.as_deref(),
            run_at: self.run_at,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }
}

/// The queue: wakes this instance's workers and names their leases.
pub struct Queue {
    wake: Notify,
    /// This instance's name on the leases it holds.
    owner: String,
}

impl Default for Queue {
    fn default() -> Self {
        Queue {
            wake: Notify::new(),
            owner: format!(
                "{}-{}",
                std::process::id(),
                crate::server::platform::vault::crypto::random_token()
            ),
        }
    }
}

impl Queue {
    /// Queues a job inside the caller's transaction; call [`Queue::wake`]
    /// after committing.
    pub async fn enqueue_in(tx: &mut Tx, job: &Enqueue) -> DbResult<JobId> {
        repo::enqueue(tx, job.as_new_job()).await
    }

    /// Queues a job in its own transaction and wakes the workers.
    pub async fn enqueue(&self, db: &Db, job: &Enqueue) -> DbResult<JobId> {
        let mut tx = db.begin_write().await?;
        let id = Self::enqueue_in(&mut tx, job).await?;
        tx.commit().await?;
        self.wake();
        Ok(id)
    }

    /// Wakes an idle worker of this instance.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// What runs a claimed job: the composition root, which knows every domain.
pub trait RunJob: Send + Sync + 'static {
    fn run(
        &self,
        tenant: Option<&TenantScope>,
        job: Job,
    ) -> impl std::future::Future<Output = Result<(), JobError>> + Send;

    /// After the last attempt failed, or a permanent failure.
    fn gave_up(
        &self,
        tenant: Option<&TenantScope>,
        job: &Job,
        error: &JobError,
    ) -> impl std::future::Future<Output = Result<(), JobError>> + Send;
}

/// The worker pool's view of storage and the queue.
struct Worker<H> {
    db: Db,
    queue: Arc<Queue>,
    handler: Arc<H>,
}

/// Runs the workers until `shutdown` flips to true, then waits briefly for
/// running jobs and returns the leases of those that did not finish.
pub async fn run<H: RunJob>(
    db: Db,
    queue: Arc<Queue>,
    handler: Arc<H>,
    mut shutdown: watch::Receiver<bool>,
) {
    let worker = Arc::new(Worker {
        db: db.clone(),
        queue: queue.clone(),
        handler,
    });
    let slots = Arc::new(Semaphore::new(CONCURRENCY));
    let mut running = JoinSet::new();
    if let Err(e) = scheduler::ensure(&db, &queue).await {
        tracing::warn!(error = %e, "could not schedule the scheduler; retrying on the next tick");
    }
    let heartbeat = tokio::spawn(heartbeat(db.clone(), queue.owner.clone()));
    loop {
        if *shutdown.borrow() {
            break;
        }
        while running.try_join_next().is_some() {}
        let free = slots.available_permits();
        let claimed = if free == 0 {
            Vec::new()
        } else {
            let lease_until = db::now_ms() + LEASE.as_millis() as i64;
            let claimed = async {
                let mut writer = db.writer().await?;
                repo::claim(&mut writer, &queue.owner, free as i64, lease_until).await
            };
            match claimed.await {
                Ok(jobs) => jobs,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming jobs failed");
                    Vec::new()
                }
            }
        };
        let idle = claimed.is_empty();
        for job in claimed {
            let Ok(permit) = slots.clone().acquire_owned().await else {
                break;
            };
            let worker = worker.clone();
            running.spawn(async move {
                worker.execute(job).await;
                drop(permit);
            });
        }
        if idle {
            tokio::select! {
                _ = queue.wake.notified() => {}
                _ = tokio::time::sleep(IDLE_POLL) => {}
                _ = shutdown.changed() => {}
                _ = running.join_next(), if !running.is_empty() => {}
            }
        }
    }
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while running.join_next().await.is_some() {}
    })
    .await;
    running.abort_all();
    heartbeat.abort();
    match repo::release(db.pool(), &queue.owner).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(jobs = n, "returned the leases of unfinished jobs"),
        Err(e) => tracing::warn!(error = %e, "returning leases failed; they expire by themselves"),
    }
}

async fn heartbeat(db: Db, owner: String) {
    let mut tick = tokio::time::interval(HEARTBEAT);
    loop {
        tick.tick().await;
        let until = db::now_ms() + LEASE.as_millis() as i64;
        let beat = async { repo::heartbeat(&mut *db.writer().await?, &owner, until).await };
        if let Err(e) = beat.await {
            tracing::warn!(error = %e, "job heartbeat failed");
        }
    }
}

impl<H: RunJob> Worker<H> {
    async fn execute(&self, job: repo::Job) {
        let started = std::time::Instant::now();
        let result = match Job::from_stored(&job.kind, &job.payload) {
            Ok(typed) => self.attempt(&job, typed).await,
            Err(e) => Err(JobError::Permanent(e)),
        };
        metrics::histogram!("calbridge_job_seconds", "kind" => job.kind.clone())
            .record(started.elapsed().as_secs_f64());
        if let Err(e) = self.record_result(&job, result).await {
            tracing::warn!(job = %job.id, error = %e, "recording a job result failed; the lease will expire");
        }
    }

    async fn attempt(&self, row: &repo::Job, job: Job) -> Result<(), JobError> {
        let tenant = row.tenant.as_ref();
        let result = self.handler.run(tenant, job.clone()).await;
        if let Err(error) = &result {
            let last_attempt = row.attempts >= row.max_attempts;
            if last_attempt || matches!(error, JobError::Permanent(_)) {
                self.handler.gave_up(tenant, &job, error).await?;
            }
        }
        result
    }

    /// Marks the job done, queued again for a retry, or dead.
    async fn record_result(&self, job: &repo::Job, result: Result<(), JobError>) -> DbResult<()> {
        let owner = &self.queue.owner;
        let kind = job.kind.clone();
        match result {
            Ok(()) => {
                metrics::counter!("calbridge_jobs_total", "kind" => kind, "result" => "done")
                    .increment(1);
                repo::complete(&mut *self.db.writer().await?, job.id, owner).await
            }
            Err(error) => {
                let retry_at = match &error {
                    JobError::Retry(_) if job.attempts < job.max_attempts => {
                        Some(db::now_ms() + backoff(job.attempts).as_millis() as i64)
                    }
                    _ => None,
                };
                let result = if retry_at.is_some() { "retry" } else { "dead" };
                tracing::warn!(job = %job.id, kind = %kind, attempt = job.attempts, %error, "job failed");
                metrics::counter!("calbridge_jobs_total", "kind" => kind, "result" => result)
                    .increment(1);
                let error = error.to_string();
                repo::fail(
                    &mut *self.db.writer().await?,
                    job.id,
                    owner,
                    &error,
                    retry_at,
                )
                .await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        for attempt in 1..30 {
            let d = backoff(attempt).as_millis() as u64;
            let cap = (1000u64 << attempt.clamp(1, 20)).min(600_000);
            assert!(d >= cap / 2 && d <= cap, "attempt {attempt}: {d} ms");
        }
        assert!(backoff(1) <= Duration::from_secs(2));
        assert!(backoff(25) >= Duration::from_secs(300));
    }
}
