//! `GET /api/sync/progress?connection=&since=`: the progress of the
//! connection's newest sync run that started at or after `since` (unix
//! ms, as Sync now answered it), as server-sent events until it ends.
//! The run's row is the truth (any instance may run the job), so the
//! stream reads it a few times a second and sends each change.

use crate::model::{ConnectionId, Role, SyncOutcome, SyncProgress};
use crate::server::app_state::AppState;
use crate::server::auth::Caller;
use crate::server::platform::db::UserScope;
use crate::server::sync_runs;
use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde::Deserialize;
use std::convert::Infallible;
use std::time::Duration;

const EVERY: Duration = Duration::from_millis(250);
/// A stream ends after this many reads even if the run never does.
const MAX_READS: u32 = 4 * 60 * 10;

#[derive(Deserialize)]
pub struct ProgressQuery {
    connection: ConnectionId,
    since: i64,
}

pub async fn stream(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ProgressQuery>,
) -> Response {
    let owner = (caller.role != Role::Admin).then_some(caller.user);
    let scope = caller.user.tenant;
    // Whose connection it is is checked once, by the first read; the
    // polls after it read the run only.
    let read = move |state: AppState, owner: Option<UserScope>| async move {
        sync_runs::progress(
            &state.db,
            &scope,
            owner.as_ref(),
            query.connection,
            query.since,
        )
        .await
    };
    let first = match read(state.clone(), owner).await {
        Ok(first) => first,
        Err(e) => return e.into_response(),
    };
    let changes = futures_util::stream::unfold(
        (Some(first), None::<SyncProgress>, 0_u32),
        move |(next, last, reads)| {
            let state = state.clone();
            async move {
                let now = match next {
                    Some(now) => now,
                    None => {
                        let finished = last
                            .as_ref()
                            .and_then(|l| l.outcome)
                            .is_some_and(|o| o != SyncOutcome::Running);
                        if finished || reads >= MAX_READS {
                            return None;
                        }
                        tokio::time::sleep(EVERY).await;
                        read(state, None).await.ok()?
                    }
                };
                let event = (Some(&now) != last.as_ref()).then(|| {
                    Event::default()
                        .event("progress")
                        .json_data(&now)
                        .unwrap_or_default()
                });
                Some((event, (None, Some(now), reads + 1)))
            }
        },
    );
    let events = changes.filter_map(|e| async move { e.map(Ok::<_, Infallible>) });
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}
