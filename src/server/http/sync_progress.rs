//! `GET /api/sync/progress?connection=&since=`: the progress of the
//! connection's newest sync run that started at or after `since` (unix
//! ms, as Sync now answered it), as server-sent events until it ends.
//! The run's row is the truth (any instance may run the job), so the
//! stream reads it a few times a second and sends each change. Each read
//! reads the session first: the stream ends at logout, at the person's
//! removal, and an admin made a member sees only their own connections'
//! runs from then on (another's ends the stream).

use super::live::too_many_streams;
use crate::model::{ConnectionId, Role, SyncOutcome, SyncProgress};
use crate::server::app_state::AppState;
use crate::server::auth::Caller;
use crate::server::error::AppError;
use crate::server::platform::db::UserScope;
use crate::server::sync::runs as sync_runs;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
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

/// Whose runs `caller` may follow: an admin the team's, a member their own.
fn owner_of(caller: &Caller) -> Option<UserScope> {
    (caller.role != Role::Admin).then_some(caller.user)
}

pub async fn stream(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Query(query): Query<ProgressQuery>,
) -> Response {
    let Some(permit) = state.live.open_stream(caller.user.user_id()) else {
        return too_many_streams();
    };
    let scope = caller.user.tenant;
    let user = caller.user.user_id();
    // The session as it stands now, then the run as that person may see it.
    let read = move |state: AppState, headers: HeaderMap| async move {
        let caller = Caller::from_headers(&headers, &state.db)
            .await?
            .filter(|now| now.user.user_id() == user)
            .ok_or(AppError::Unauthorized)?;
        sync_runs::progress(
            &state.db,
            &scope,
            owner_of(&caller).as_ref(),
            query.connection,
            query.since,
        )
        .await
    };
    let first = match read(state.clone(), headers.clone()).await {
        Ok(first) => first,
        Err(e) => return e.into_response(),
    };
    let changes = futures_util::stream::unfold(
        (Some(first), None::<SyncProgress>, 0_u32, permit),
        move |(next, last, reads, permit)| {
            let state = state.clone();
            let headers = headers.clone();
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
                        read(state, headers).await.ok()?
                    }
                };
                let event = (Some(&now) != last.as_ref()).then(|| {
                    Event::default()
                        .event("progress")
                        .json_data(&now)
                        .unwrap_or_default()
                });
                Some((event, (None, Some(now), reads + 1, permit)))
            }
        },
    );
    let events = changes.filter_map(|e| async move { e.map(Ok::<_, Infallible>) });
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}
