//! Group commit for webhook deliveries. Every receiver hands its delivery
//! (the event record and, when it needs processing, its job) to a writer
//! task and waits; the writer stores everything that has arrived meanwhile
//! in one transaction and answers each request after that shared commit.
//! A delivery is still acknowledged only once it is durable, but a burst
//! costs one commit (one fsync on SQLite) instead of one per request.

use crate::server::error::AppError;
use crate::server::jobs::{Enqueue, Queue};
use crate::server::platform::db::jobs as jobs_repo;
use crate::server::platform::db::webhook_events::{self as events_repo, NewEvent};
use crate::server::platform::db::{Backend, Db, DbError};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Mutex};

/// Deliveries waiting for a writer before receivers wait for room (back
/// pressure instead of unbounded memory).
const QUEUE_DEPTH: usize = 8192;
/// Deliveries stored in one transaction at most.
const MAX_BATCH: usize = 256;

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
            IngestError::Stopped => AppError::Internal(e.to_string()),
        }
    }
}

struct Delivery {
    id: String,
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

    /// Stores `event`, and the job `job` builds from the event's id (if
    /// any) when the event is new; returns once both are committed.
    pub async fn store(
        &self,
        event: NewEvent,
        job: impl FnOnce(&str) -> Option<Enqueue>,
    ) -> Result<Stored, IngestError> {
        let id = uuid::Uuid::now_v7().to_string();
        let job = job(&id);
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Delivery {
                id,
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
    loop {
        let received = receiver.lock().await.recv_many(&mut batch, MAX_BATCH).await;
        if received == 0 {
            return;
        }
        let outcomes = match write(&db, &batch).await {
            Ok(stored) => stored.into_iter().map(Ok).collect(),
            // One bad delivery must not fail the others: store each alone.
            Err(e) => {
                tracing::warn!(error = %e, deliveries = batch.len(), "group commit failed; storing one by one");
                let mut outcomes = Vec::with_capacity(batch.len());
                for delivery in &batch {
                    outcomes.push(write(&db, std::slice::from_ref(delivery)).await.and_then(
                        |stored| {
                            stored
                                .into_iter()
                                .next()
                                .ok_or_else(|| DbError::Corrupt("no outcome for a delivery".into()))
                        },
                    ));
                }
                outcomes
            }
        };
        let mut queued = false;
        for (delivery, outcome) in batch.drain(..).zip(outcomes) {
            queued |= matches!(outcome, Ok(Stored::New)) && delivery.job.is_some();
            // The request may have gone (client hung up); the record stays.
            let _ = delivery.reply.send(outcome.map_err(IngestError::Db));
        }
        if queued {
            queue.wake();
        }
    }
}

/// Inserts the events, then the jobs of those that were new, in one
/// transaction.
async fn write(db: &Db, batch: &[Delivery]) -> Result<Vec<Stored>, DbError> {
    let mut tx = db.begin_write().await?;
    let events: Vec<(&str, &NewEvent)> = batch.iter().map(|d| (d.id.as_str(), &d.event)).collect();
    let new = events_repo::insert_many(&mut tx, &events).await?;
    let jobs: Vec<_> = batch
        .iter()
        .zip(&new)
        .filter(|(_, is_new)| **is_new)
        .filter_map(|(d, _)| d.job.as_ref().map(Enqueue::as_new_job))
        .collect();
    if !jobs.is_empty() {
        jobs_repo::enqueue_many(&mut tx, &jobs).await?;
    }
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
