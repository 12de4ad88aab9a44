//! One `LISTEN` connection per instance on PostgreSQL for cross-instance
//! news (a job was queued, a meeting changed). SQLite has one instance and
//! needs none.

use crate::server::platform::db::{Backend, Db};
use std::time::Duration;

/// Listens on `channels` until aborted, calling `on_note(channel, payload)`
/// for each notification and `on_connected` each time the listener
/// (re)connects: notifications sent while it was away are lost, so callers
/// catch up then. `None` on SQLite.
pub fn listen(
    db: &Db,
    database_url: &str,
    channels: &'static [&'static str],
    on_note: impl Fn(&str, &str) + Send + 'static,
    on_connected: impl Fn() + Send + 'static,
) -> Option<tokio::task::JoinHandle<()>> {
    if db.backend() != Backend::Postgres {
        return None;
    }
    let database_url = database_url.to_owned();
    Some(tokio::spawn(async move {
        loop {
            match sqlx::postgres::PgListener::connect(&database_url).await {
                Ok(mut listener) => {
                    if listener.listen_all(channels.iter().copied()).await.is_ok() {
                        on_connected();
                        while let Ok(note) = listener.recv().await {
                            on_note(note.channel(), note.payload());
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "LISTEN failed; retrying"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }))
}
