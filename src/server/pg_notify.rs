//! One `LISTEN` connection per instance on PostgreSQL, for both kinds of
//! cross-instance news: a job was queued (wake the workers) and a meeting
//! changed (tell this instance's open pages).

use crate::server::db::jobs::NOTIFY_CHANNEL as JOBS_CHANNEL;
use crate::server::db::Backend;
use crate::server::live::NOTIFY_CHANNEL as LIVE_CHANNEL;
use crate::server::state::AppState;
use std::time::Duration;

/// Listens until aborted; `None` on SQLite, where there is one instance.
pub fn listen(state: &AppState) -> Option<tokio::task::JoinHandle<()>> {
    if state.db.backend() != Backend::Postgres {
        return None;
    }
    let state = state.clone();
    Some(tokio::spawn(async move {
        loop {
            match sqlx::postgres::PgListener::connect(&state.config.database_url).await {
                Ok(mut listener) => {
                    if listener
                        .listen_all([JOBS_CHANNEL, LIVE_CHANNEL])
                        .await
                        .is_ok()
                    {
                        // Notifications sent while we were away are lost:
                        // workers still poll every second, and pages refetch
                        // when they reconnect.
                        state.jobs.wake();
                        while let Ok(note) = listener.recv().await {
                            if note.channel() == JOBS_CHANNEL {
                                state.jobs.wake();
                            } else {
                                state.live.forward(note.payload());
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "LISTEN failed; retrying"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }))
}
