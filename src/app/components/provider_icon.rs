use crate::model::Provider;
use leptos::prelude::*;

/// A small mark in the provider's brand colour, with its initial.
#[component]
pub fn ProviderIcon(provider: Provider) -> impl IntoView {
    let letter = provider.label().chars().next().unwrap_or('?');
    view! {
        <span class=format!("provider-icon provider-{}", provider.as_str()) aria-hidden="true">{letter}</span>
    }
}
