use crate::model::{MeetingSource, Provider};
use leptos::prelude::*;

/// A small mark in the provider's brand colour, with its initial.
#[component]
pub fn ProviderIcon(provider: Provider) -> impl IntoView {
    view! { <SourceIcon source=provider.into()/> }
}

/// The mark of where a meeting comes from (a provider, or calbridge).
#[component]
pub fn SourceIcon(source: MeetingSource) -> impl IntoView {
    let letter = source.label().chars().next().unwrap_or('?');
    view! {
        <span class=format!("provider-icon provider-{}", source.as_str()) aria-hidden="true" title=source.label()>{letter}</span>
    }
}
