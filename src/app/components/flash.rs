use crate::model::flash_text;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// Shows the `notice` / `error` a form post redirected with.
#[component]
pub fn Flash() -> impl IntoView {
    let query = use_query_map();
    let message = move || {
        let q = query.get();
        if let Some(text) = q.get("error").and_then(|c| flash_text(&c)) {
            Some(("flash flash-error", text))
        } else {
            q.get("notice")
                .and_then(|c| flash_text(&c))
                .map(|t| ("flash flash-notice", t))
        }
    };
    move || {
        message().map(|(class, text)| {
            view! { <div class=class role="status">{text}</div> }
        })
    }
}
