//! `GET /api/admin/overview/live?range=`: the admin overview's figures,
//! rendered again every few seconds and sent when they changed
//! (server-sent events, event `figures`, the HTML as data). It lives above
//! `app` and `server` because it renders the page's own component: the
//! browser swaps the HTML in and carries no rendering code of its own.
//! Each read checks the session again, so a stream ends with the session
//! or the admin role.

use crate::app::OverviewFigures;
use crate::model::OverviewRange;
use crate::server::admin::overview;
use crate::server::app_state::AppState;
use crate::server::auth::{AdminCaller, Caller};
use crate::server::http::too_many_streams;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use leptos::prelude::*;
use serde::Deserialize;
use std::convert::Infallible;
use std::time::Duration;

/// How often the figures are read again (each read is a handful of
/// bounded queries).
const EVERY: Duration = Duration::from_secs(5);
/// A stream ends after about an hour; the browser reconnects by itself.
const MAX_READS: u32 = 720;

#[derive(Deserialize)]
pub struct LiveQuery {
    range: Option<String>,
}

/// The admin behind `headers`' session now, if still one.
async fn admin_of(state: &AppState, headers: &HeaderMap) -> Option<AdminCaller> {
    let caller = Caller::from_headers(headers, &state.db).await.ok()??;
    AdminCaller::check(caller).ok()
}

fn render(page: crate::model::OverviewPage) -> String {
    Owner::new().with(|| view! { <OverviewFigures page/> }.to_html())
}

pub async fn stream(
    State(state): State<AppState>,
    // Refuses anyone but an admin before the stream opens.
    admin: AdminCaller,
    Query(query): Query<LiveQuery>,
    headers: HeaderMap,
) -> Response {
    let range: OverviewRange = match query.range.filter(|r| !r.is_empty()).map(|r| r.parse()) {
        None => OverviewRange::default(),
        Some(Ok(range)) => range,
        Some(Err(message)) => return (StatusCode::BAD_REQUEST, message).into_response(),
    };
    let Some(permit) = state.live.open_stream(admin.0.user.user_id()) else {
        return too_many_streams();
    };
    // The page that opened the stream has just been rendered: the first
    // read waits its turn like the others.
    let closing = state.live.closing();
    let changes = futures_util::stream::unfold(
        (None::<String>, 0_u32, closing, permit),
        move |(last, reads, mut closing, permit)| {
            let state = state.clone();
            let headers = headers.clone();
            async move {
                if reads >= MAX_READS {
                    return None;
                }
                tokio::select! {
                    _ = tokio::time::sleep(EVERY) => {}
                    _ = closing.changed() => return None,
                }
                let admin = admin_of(&state, &headers).await?;
                let html = match overview::page(&state.admin, &admin, range).await {
                    Ok(page) => render(page),
                    Err(e) => {
                        tracing::warn!(error = %e, "overview figures could not be read");
                        return Some((None, (last, reads + 1, closing, permit)));
                    }
                };
                let event = (Some(&html) != last.as_ref())
                    .then(|| Event::default().event("figures").data(&html));
                Some((event, (Some(html), reads + 1, closing, permit)))
            }
        },
    );
    let events = changes.filter_map(|e| async move { e.map(Ok::<_, Infallible>) });
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}
