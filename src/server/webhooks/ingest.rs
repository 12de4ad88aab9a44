//! Group commit for webhook deliveries. Every receiver hands its delivery
//! (the event record and, when it needs processing, its job) to a writer
//! task and waits; the writer stores everything that has arrived meanwhile
//! in one transaction and answers each request after that shared commit.
//! A delivery is still acknowledged only once it is durable, but a burst
//! costs one commit (one fsync on SQLite) instead of one per request.
//!
//! The overview's hourly figures go into the same transaction: each
//! delivery's result, and the acknowledgement latencies of the batches
//! answered before (a latency is known only once its commit is done, so
//! it rides with the next commit, or is written alone after a quiet
//! second).

use crate::server::error::AppError;
use crate::server::jobs::{Enqueue, Queue};
use crate::server::platform::db::activity::{self, Counted, Tallies};
use crate::server::platform::db::jobs as jobs_repo;
use crate::server::platform::db::webhook_events::{self as events_repo, NewEvent, WebhookResult};
use crate::server::platform::db::{now_ms, Backend, Db, DbError};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, Mutex};

/// Deliveries waiting for a writer before receivers wait for room (back
/// pressure instead of unbounded memory).
const QUEUE_DEPTH: usize = 8192;
/// Deliveries stored in one transaction at most.
const MAX_BATCH: usize = 256;
/// How long acknowledgement latencies wait for a next batch to ride with
/// before they are written on their own.
const LATENCY_FLUSH: Duration = Duration::from_secs(1);

/// What the writer made of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// A new event (and its job, if it had one).
    New,
    /// Its dedupe key was seen before: counted on the original, nothing
    /// queued.
    Duplicate,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("the ingest writer stopped")]
    Stopped,
}

impl From<IngestError> for AppError {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::Db(db) => db.into(),
            IngestError::Stopped => AppError::internal(e),
        }
    }
}

struct Delivery {
    id: String,
    /// When the request arrived, for its acknowledgement latency.
    arrived: Instant,
    event: NewEvent,
    job: Option<Enqueue>,
    reply: oneshot::Sender<Result<Stored, IngestError>>,
}

/// The receivers' handle on the writers.
pub struct Ingest {
    sender: mpsc::Sender<Delivery>,
}

impl Ingest {
    /// Starts the writers: one on SQLite (it has one writer anyway), a few
    /// on PostgreSQL, whose commits can overlap.
    pub fn start(db: Db, queue: Arc<Queue>) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE_DEPTH);
        let receiver = Arc::new(Mutex::new(receiver));
        let writers = match db.backend() {
            Backend::Sqlite => 1,
            Backend::Postgres => 4,
        };
        for _ in 0..writers {
            tokio::spawn(write_batches(db.clone(), queue.clone(), receiver.clone()));
        }
        Ingest { sender }
    }

    /// Stores `event` (of a request that arrived at `arrived`), and the job
    /// `job` builds from the event's id (if any) when the event is new;
    /// returns once both are committed.
    pub async fn store(
        &self,
        arrived: Instant,
        event: NewEvent,
        job: impl FnOnce(&str) -> Option<Enqueue>,
    ) -> Result<Stored, IngestError> {
        let id = uuid::Uuid::now_v7().to_string();
        let job = job(&id);
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Delivery {
                id,
                arrived,
                event,
                job,
                reply,
            })
            .await
            .map_err(|_| IngestError::Stopped)?;
        answer.await.map_err(|_| IngestError::Stopped)?
    }
}

async fn write_batches(db: Db, queue: Arc<Queue>, receiver: Arc<Mutex<mpsc::Receiver<Delivery>>>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // Latencies of answered batches, not yet written.
    let mut latencies = Tallies::default();
    loop {
        let next = async { receiver.lock().await.recv_many(&mut batch, MAX_BATCH).await };
        let received = if latencies.is_empty() {
            next.await
        } else {
            match tokio::time::timeout(LATENCY_FLUSH, next).await {
                Ok(received) => received,
                Err(_quiet) => {
                    write_latencies(&db, &mut latencies).await;
                    continue;
                }
            }
        };
        if received == 0 {
            write_latencies(&db, &mut latencies).await;
            return;
        }
        let outcomes = match write(&db, &batch, &latencies).await {
            Ok(stored) => {
                latencies = Tallies::default();
                stored.into_iter().map(Ok).collect()
            }
            // One bad delivery must not fail the others: store each alone.
            Err(e) => {
                tracing::warn!(error = %e, deliveries = batch.len(), "group commit failed; storing one by one");
                let mut outcomes = Vec::with_capacity(batch.len());
                for delivery in &batch {
                    let alone =
                        write(&db, std::slice::from_ref(delivery), &Tallies::default()).await;
                    outcomes.push(alone.and_then(|stored| {
                        stored
                            .into_iter()
                            .next()
                            .ok_or_else(|| DbError::Corrupt("no outcome for a delivery".into()))
                    }));
                }
                outcomes
            }
        };
        let mut queued = false;
        let answered = Instant::now();
        let hour = activity::hour_of(now_ms());
        for (delivery, outcome) in batch.drain(..).zip(outcomes) {
            queued |= matches!(outcome, Ok(Stored::New)) && delivery.job.is_some();
            if let (Ok(_), Some(scope)) = (&outcome, &delivery.event.tenant) {
                let micros = answered.duration_since(delivery.arrived).as_micros();
                latencies
                    .at(scope, delivery.event.provider, hour)
                    .ack(i64::try_from(micros).unwrap_or(i64::MAX));
            }
            // The request may have gone (client hung up); the record stays.
            let _ = delivery.reply.send(outcome.map_err(IngestError::Db));
        }
        if queued {
            queue.wake();
        }
    }
}

/// Writes the latencies waiting for a commit on their own; on failure they
/// wait for the next one.
async fn write_latencies(db: &Db, latencies: &mut Tallies) {
    if latencies.is_empty() {
        return;
    }
    let written = async {
        let mut tx = db.begin_write().await?;
        activity::add(&mut tx, latencies).await?;
        tx.commit().await?;
        Ok::<_, DbError>(())
    }
    .await;
    match written {
        Ok(()) => *latencies = Tallies::default(),
        Err(e) => tracing::warn!(error = %e, "could not record acknowledgement latencies"),
    }
}

/// Inserts the events, then the jobs of those that were new, then the
/// hourly figures (these deliveries' results and `latencies`), in one
/// transaction.
async fn write(db: &Db, batch: &[Delivery], latencies: &Tallies) -> Result<Vec<Stored>, DbError> {
    let mut tx = db.begin_write().await?;
    let events: Vec<(&str, &NewEvent)> = batch.iter().map(|d| (d.id.as_str(), &d.event)).collect();
    let received_at = now_ms();
    let new = events_repo::insert_many(&mut tx, &events, received_at).await?;
    let jobs: Vec<_> = batch
        .iter()
        .zip(&new)
        .filter(|(_, is_new)| **is_new)
        .filter_map(|(d, _)| d.job.as_ref().map(Enqueue::as_new_job))
        .collect();
    if !jobs.is_empty() {
        jobs_repo::enqueue_many(&mut tx, &jobs).await?;
    }
    let mut tallies = Tallies::default();
    let hour = activity::hour_of(received_at);
    for (delivery, is_new) in batch.iter().zip(&new) {
        let event = &delivery.event;
        // A repeat of a verified delivery is a duplicate; a repeat of a
        // discarded one (same source and minute) is discarded again.
        let counted = match (is_new, event.result) {
            (false, WebhookResult::Queued) => Some(Counted::Duplicate),
            (_, result) => result.counted(),
        };
        if let (Some(counted), Some(scope)) = (counted, &event.tenant) {
            tallies.at(scope, event.provider, hour).count(counted, 1);
        }
    }
    tallies.merge(latencies);
    activity::add(&mut tx, &tallies).await?;
    tx.commit().await?;
    Ok(new
        .into_iter()
        .map(|is_new| {
            if is_new {
                Stored::New
            } else {
                Stored::Duplicate
            }
        })
        .collect())
}
