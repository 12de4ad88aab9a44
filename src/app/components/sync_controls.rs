//! Sync now (and, for admins, Full resync) for one connection, with a
//! live progress bar. Without JavaScript the buttons are plain form posts;
//! once hydrated, a press queues the sync through `request_sync` and
//! follows the run over `/api/sync/progress` until it ends.

use crate::model::{paths, ConnectionId, SyncOutcome, SyncProgress};
use leptos::prelude::*;

/// What the bar says about a run.
fn describe(p: &SyncProgress) -> String {
    let changes = p.counts.summary();
    match p.outcome {
        None => "Queued: waiting for a worker…".to_owned(),
        Some(SyncOutcome::Running) => format!(
            "Syncing: {} of {} calendar feed(s) read · {changes}",
            p.feeds_done, p.feeds_total
        ),
        Some(SyncOutcome::Succeeded) => format!("Done: {changes}."),
        Some(SyncOutcome::Partial) => format!("Done with errors: {changes}."),
        Some(SyncOutcome::Failed) => format!(
            "Failed: {}",
            p.error.clone().unwrap_or_else(|| "unknown error".into())
        ),
    }
}

#[island]
pub fn SyncControls(connection: ConnectionId, admin: bool) -> impl IntoView {
    let progress = RwSignal::new(None::<SyncProgress>);
    let failed = RwSignal::new(None::<String>);
    let start = move |full: bool| {
        #[cfg(feature = "hydrate")]
        follow(connection, full, progress, failed);
        #[cfg(not(feature = "hydrate"))]
        let _ = (full, failed);
    };
    let sync_path = if admin {
        paths::ADMIN_SYNC_CONNECTION.to(connection)
    } else {
        paths::SYNC_CONNECTION.to(connection)
    };
    let running = move || {
        progress
            .get()
            .is_some_and(|p| matches!(p.outcome, None | Some(SyncOutcome::Running)))
    };
    view! {
        <div class="sync-controls" data-connection=connection.to_string()>
            <div class="sync-buttons">
                <form method="post" action=sync_path on:submit=move |ev| { ev.prevent_default(); start(false); }>
                    <button type="submit" class="button small" disabled=running>"Sync now"</button>
                </form>
                {admin.then(|| view! {
                    <form method="post" action=paths::ADMIN_RESYNC_CONNECTION.to(connection) on:submit=move |ev| { ev.prevent_default(); start(true); }>
                        <button type="submit" class="button small" disabled=running
                            title="Forget the feeds' cursors and read every event again">"Full resync"</button>
                    </form>
                })}
            </div>
            {move || progress.get().map(|p| {
                let done = matches!(p.outcome, Some(SyncOutcome::Succeeded | SyncOutcome::Partial | SyncOutcome::Failed));
                let value = if done { p.feeds_total } else { p.feeds_done };
                let state = p.outcome.map_or("queued", SyncOutcome::as_str);
                view! {
                    <div class="sync-progress" data-state=state role="status" aria-live="polite">
                        <progress max=p.feeds_total value=value aria-label="Sync progress"></progress>
                        <span class="small">{describe(&p)}</span>
                    </div>
                }
            })}
            {move || failed.get().map(|e| view! { <p class="flash flash-error small">{e}</p> })}
        </div>
    }
}

/// Queues the sync, then follows its run until it ends.
#[cfg(feature = "hydrate")]
fn follow(
    connection: ConnectionId,
    full: bool,
    progress: RwSignal<Option<SyncProgress>>,
    failed: RwSignal<Option<String>>,
) {
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    failed.set(None);
    progress.set(Some(SyncProgress {
        run: None,
        outcome: None,
        feeds_done: 0,
        feeds_total: 1,
        counts: Default::default(),
        error: None,
    }));
    leptos::task::spawn_local(async move {
        let since = match crate::api::sync::request_sync(connection, full).await {
            Ok(since) => since,
            Err(e) => {
                progress.set(None);
                failed.set(Some(e.to_string()));
                return;
            }
        };
        let url = format!(
            "{}?connection={connection}&since={since}",
            paths::SYNC_PROGRESS
        );
        let Ok(source) = web_sys::EventSource::new(&url) else {
            return;
        };
        let closer = source.clone();
        let on_progress =
            Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
                let Some(text) = ev.data().as_string() else {
                    return;
                };
                if let Ok(now) = serde_json::from_str::<SyncProgress>(&text) {
                    let ended = now.outcome.is_some_and(|o| o != SyncOutcome::Running);
                    progress.set(Some(now));
                    if ended {
                        closer.close();
                    }
                }
            });
        let _ = source
            .add_event_listener_with_callback("progress", on_progress.as_ref().unchecked_ref());
        // The stream ends when the run does; the browser would reconnect.
        on_progress.forget();
    });
}
