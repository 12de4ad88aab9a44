//! `GET /api/live`: the caller's meeting changes as server-sent events.
//!
//! Every (re)connection starts with `hello`, after which the page refetches
//! its list, so a gap while disconnected is never missed. A browser that
//! falls too far behind gets `resync` (refetch) instead of a wedged stream.

use crate::server::auth::Caller;
use crate::server::state::AppState;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

pub async fn stream(
    State(state): State<AppState>,
    caller: Caller,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let updates = state.live.subscribe(caller.user.user_id());
    let closing = state.live.closing();
    let hello =
        futures_util::stream::once(async { Ok(Event::default().event("hello").data("{}")) });
    let changes = futures_util::stream::unfold(
        (updates, closing),
        |(mut updates, mut closing)| async move {
            if *closing.borrow() {
                return None;
            }
            let event = tokio::select! {
                received = updates.recv() => match received {
                    Ok(change) => Event::default().event("meeting").data(change),
                    Err(RecvError::Lagged(_)) => Event::default().event("resync").data("{}"),
                    Err(RecvError::Closed) => return None,
                },
                _ = closing.changed() => return None,
            };
            Some((Ok(event), (updates, closing)))
        },
    );
    Sse::new(futures_util::StreamExt::chain(hello, changes))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
