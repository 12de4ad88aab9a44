//! How a connection hears about changes, in one table cell.

use crate::model::{ConnectionState, ConnectionView, SyncMode};
use leptos::prelude::*;

/// `2026-11-21T15:04:05Z` → `2026-11-21 15:04 UTC`.
pub fn utc_minutes(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..16)) {
        (Some(day), Some(time)) => format!("{day} {time} UTC"),
        _ => rfc3339.to_owned(),
    }
}

pub use super::dates::utc_short;

#[component]
pub fn SubscriptionCell(connection: ConnectionView) -> impl IntoView {
    let sub = connection.subscription;
    let (class, text) = if connection.state == ConnectionState::Disconnected {
        ("badge badge-disconnected", "none".to_owned())
    } else if connection.sync_mode == SyncMode::Polling {
        ("badge badge-polling", "polling every 5 min".to_owned())
    } else if sub.failed > 0 {
        ("badge badge-error", "failing".to_owned())
    } else if sub.active > 0 {
        ("badge badge-connected", format!("{} active", sub.active))
    } else {
        ("badge badge-pending", "setting up".to_owned())
    };
    let polling_note = (connection.sync_mode == SyncMode::Polling).then(|| {
        view! { <br/><span class="muted small">"Calendly webhooks need a paid plan"</span> }
    });
    view! {
        <span class=class data-testid="subscription-state">{text}</span>
        {polling_note}
        {sub.next_renewal_at.map(|t| view! { <br/><span class="muted small nowrap">"renews "{utc_short(&t)}</span> })}
        {sub.last_error.map(|e| view! { <br/><span class="error-text small">{e}</span> })}
    }
}
