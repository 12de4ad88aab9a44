use super::AdminTabs;
use crate::api::operations::get_webhook_events;
use crate::app::components::connection_status::utc_short;
use crate::app::components::provider_icon::ProviderIcon;
use crate::model::paths;
use crate::model::{Provider, WebhookEventView};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

const RESULTS: [&str; 6] = [
    "processed",
    "queued",
    "ignored",
    "unrouted",
    "rejected",
    "failed",
];

/// `/admin/webhooks`: every delivery, filterable, with payloads and Replay.
#[component]
pub fn AdminWebhooksPage() -> impl IntoView {
    let query = use_query_map();
    let filter = move || {
        let q = query.get();
        let get = |k: &str| q.get(k).filter(|v| !v.is_empty());
        (get("provider"), get("result"), get("q"))
    };
    let rows = Resource::new(filter, |(provider, result, q)| {
        get_webhook_events(provider, result, q)
    });
    view! {
        <Title text="Webhooks"/>
        <div class="page-head">
            <h1>"Admin"</h1>
        </div>
        <AdminTabs/>
        <form method="get" action=paths::ADMIN_WEBHOOKS class="inline-form filters">
            <label>
                "Provider"
                <select name="provider">
                    <option value="">"All providers"</option>
                    {Provider::ALL.into_iter().map(|p| {
                        let selected = move || filter().0.as_deref() == Some(p.as_str());
                        view! { <option value=p.as_str() selected=selected>{p.label()}</option> }
                    }).collect_view()}
                </select>
            </label>
            <label>
                "Result"
                <select name="result">
                    <option value="">"All results"</option>
                    {RESULTS.into_iter().map(|r| {
                        let selected = move || filter().1.as_deref() == Some(r);
                        view! { <option value=r selected=selected>{r}</option> }
                    }).collect_view()}
                </select>
            </label>
            <label>
                "Search"
                <input type="search" name="q" placeholder="Type, dedupe key, user" value=move || filter().2.unwrap_or_default()/>
            </label>
            <button type="submit" class="button">"Filter"</button>
        </form>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || rows.get().map(|r| match r {
                Ok(list) if list.is_empty() => view! {
                    <section class="card empty-state"><h2>"No webhooks"</h2>
                    <p class="muted">"Deliveries from Calendly, Google and Outlook appear here as they arrive."</p></section>
                }.into_any(),
                Ok(list) => view! { <EventsTable rows=list/> }.into_any(),
                Err(e) => view! { <p class="flash flash-error">{e.to_string()}</p> }.into_any(),
            })}
        </Transition>
    }
}

/// Dedupe keys hold long provider URIs: the first part and the end are
/// enough to tell them apart (the whole key is in the tooltip).
fn short_key(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 48 {
        return key.to_owned();
    }
    let head: String = key
        .split('|')
        .next()
        .unwrap_or_default()
        .chars()
        .take(24)
        .collect();
    let tail: String = chars[chars.len() - 20..].iter().collect();
    format!("{head}|…{tail}")
}

#[component]
fn EventsTable(rows: Vec<WebhookEventView>) -> impl IntoView {
    view! {
        <section class="card">
            <div class="table-wrap">
                <table class="table">
                    <thead><tr><th>"Received (UTC)"</th><th>"Type"</th><th>"User"</th><th>"Result"</th><th>"Latency"</th><th>"Dedupe key / payload"</th></tr></thead>
                    <tbody>
                        {rows.into_iter().map(|e| {
                            // Only verified deliveries can be processed again.
                            let verified = !matches!(e.result.as_str(), "rejected" | "unrouted" | "ignored");
                            let replayable = verified && e.dedupe_key.is_some() && e.user_email.is_some();
                            view! {
                                <tr data-webhook=e.id.to_string() data-result=e.result.clone()>
                                    <td data-label="Received (UTC)" class="nowrap">{utc_short(&e.received_at)}</td>
                                    <td data-label="Type" class="nowrap" title=e.provider.label()><ProviderIcon provider=e.provider/>" "<code>{e.event_type.clone()}</code></td>
                                    <td data-label="User">{e.user_email.clone().unwrap_or_else(|| "—".into())}</td>
                                    <td data-label="Result">
                                        <span class=format!("badge badge-webhook-{}", e.result)>{e.result.clone()}</span>
                                        {(e.duplicates > 0).then(|| view! { <br/><span class="muted small">{if verified { format!("+{} duplicate(s)", e.duplicates) } else { format!("+{} more this minute", e.duplicates) }}</span> })}
                                        {e.detail.clone().map(|d| view! { <br/><span class="muted small">{d}</span> })}
                                        {replayable.then(|| view! {
                                            <form method="post" action=paths::REPLAY_WEBHOOK.to(e.id) class="replay">
                                                <button type="submit" class="button small">"Replay"</button>
                                            </form>
                                        })}
                                    </td>
                                    <td data-label="Latency" class="nowrap">{e.latency_ms.map(|ms| format!("{ms} ms")).unwrap_or_else(|| "—".into())}</td>
                                    <td data-label="Dedupe key / payload" class="payload-cell">
                                        <code class="small" title=e.dedupe_key.clone().unwrap_or_default()>{e.dedupe_key.as_deref().map(short_key).unwrap_or_default()}</code>
                                        {e.payload.clone().map(|p| view! {
                                            <details><summary>"Payload"</summary><pre class="payload">{p}</pre></details>
                                        })}
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}
