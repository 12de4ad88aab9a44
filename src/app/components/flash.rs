use crate::model::{Flash, FlashKind};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// Shows the `notice` / `error` a form post redirected with.
#[component]
pub fn FlashMessage() -> impl IntoView {
    let query = use_query_map();
    let message = move || {
        let q = query.get();
        let read = |kind: FlashKind| q.get(kind.param()).and_then(|code| Flash::from_code(&code));
        if let Some(flash) = read(FlashKind::Error) {
            Some(("flash flash-error", flash.text()))
        } else {
            read(FlashKind::Notice).map(|flash| ("flash flash-notice", flash.text()))
        }
    };
    move || {
        message().map(|(class, text)| {
            view! { <div class=class role="status">{text}</div> }
        })
    }
}
