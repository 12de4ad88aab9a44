//! `/admin`: the tenant at a glance. The figures and charts are rendered
//! on the server (SVG, readable without JavaScript); once hydrated, a small
//! island follows `/api/admin/overview/live` and swaps in the figures the
//! server renders again when they change.

use super::AdminTabs;
use crate::api::operations::get_overview;
use crate::app::components::connection_status::utc_minutes;
use crate::app::components::provider_icon::ProviderIcon;
use crate::model::paths;
use crate::model::{
    millis as ms, thousands, ChartView, OverviewPage, OverviewRange, WebhookTotals,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The element the live island fills.
pub const FIGURES_ID: &str = "overview-figures";

#[component]
pub fn AdminOverviewPage() -> impl IntoView {
    let query = use_query_map();
    let range = move || query.get().get("range").filter(|r| !r.is_empty());
    let page = Resource::new(range, get_overview);
    view! {
        <Title text="Admin overview"/>
        <div class="page-head">
            <h1>"Admin"</h1>
        </div>
        <AdminTabs/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || page.get().map(|r| match r {
                Ok(page) => {
                    let range = page.range;
                    view! {
                        <div class="overview-head">
                            <nav class="chips" aria-label="Range">
                                {OverviewRange::ALL.into_iter().map(|r| {
                                    let current = r == range;
                                    view! {
                                        <a href=format!("{}?range={}", paths::ADMIN, r.as_str())
                                            class:active=current
                                            aria-current=current.then_some("page")>{r.label()}</a>
                                    }
                                }).collect_view()}
                            </nav>
                            <OverviewLive range=range.as_str().to_owned() as_of=utc_minutes(&page.as_of)/>
                        </div>
                        <div id=FIGURES_ID>
                            <OverviewFigures page/>
                        </div>
                    }.into_any()
                }
                Err(e) => view! { <p class="flash flash-error">{e.to_string()}</p> }.into_any(),
            })}
        </Transition>
    }
}

/// Once hydrated: follows the live stream and puts each new rendering of
/// the figures in place. Before that (and without WASM) the page shows
/// the figures as of its load.
#[island]
fn OverviewLive(range: String, as_of: String) -> impl IntoView {
    let live = RwSignal::new(false);
    let updated = RwSignal::new(as_of);
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::closure::Closure;
        use wasm_bindgen::JsCast;
        let url = format!("{}?range={range}", paths::ADMIN_OVERVIEW_LIVE);
        if let Ok(source) = web_sys::EventSource::new(&url) {
            let on_figures =
                Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
                    let Some(html) = ev.data().as_string() else {
                        return;
                    };
                    let figures = web_sys::window()
                        .and_then(|w| w.document())
                        .and_then(|d| d.get_element_by_id(FIGURES_ID));
                    if let Some(figures) = figures {
                        figures.set_inner_html(&html);
                        let now = js_sys::Date::new_0();
                        updated.set(format!(
                            "{:02}:{:02}:{:02}",
                            now.get_hours(),
                            now.get_minutes(),
                            now.get_seconds()
                        ));
                    }
                });
            let _ = source
                .add_event_listener_with_callback("figures", on_figures.as_ref().unchecked_ref());
            let opened = Closure::<dyn Fn()>::new(move || live.set(true));
            source.set_onopen(Some(opened.as_ref().unchecked_ref()));
            let lost = Closure::<dyn Fn()>::new(move || live.set(false));
            source.set_onerror(Some(lost.as_ref().unchecked_ref()));
            let source = send_wrapper::SendWrapper::new((source, on_figures, opened, lost));
            on_cleanup(move || source.0.close());
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = range;
    view! {
        <span class="live" class:on=move || live.get() data-testid="overview-live">
            <span class="dot"></span>
            {move || if live.get() { format!("Live · updated {}", updated.get()) } else { format!("As of {}", updated.get()) }}
        </span>
    }
}

/// Everything below the range picker; rendered for the page and again for
/// each live update.
#[component]
pub fn OverviewFigures(page: OverviewPage) -> impl IntoView {
    let all = page
        .webhooks
        .iter()
        .find(|w| w.provider.is_none())
        .cloned()
        .unwrap_or_default();
    let connected: i64 = page.connections.iter().map(|c| c.connected).sum();
    let in_error: i64 = page.connections.iter().map(|c| c.error).sum();
    let attention = page.attention.len();
    let conflicts = page.conflicts.appointments + page.conflicts.bookings;
    let jobs = page.jobs.clone();
    let range = page.range.label().to_lowercase();
    view! {
        <section class="stat-grid" aria-label="At a glance">
            <a class="card stat" href=paths::ADMIN_CONNECTIONS data-stat="connections">
                <span class="stat-label">"Connections"</span>
                <span class="stat-value">{connected}</span>
                <span class={if in_error > 0 { "stat-note error-text" } else { "stat-note muted" }}>
                    {if in_error > 0 { format!("{in_error} need reconnecting") } else { "all working".to_owned() }}
                </span>
            </a>
            <a class="card stat" href=paths::ADMIN_WEBHOOKS data-stat="webhooks">
                <span class="stat-label">"Webhooks, " {range.clone()}</span>
                <span class="stat-value">{thousands(all.received)}</span>
                <span class={if all.failed + all.rejected > 0 { "stat-note error-text" } else { "stat-note muted" }}>
                    {format!("{} failed · {} rejected", thousands(all.failed), thousands(all.rejected))}
                </span>
            </a>
            <div class="card stat" data-stat="latency">
                <span class="stat-label">"Acknowledged within"</span>
                <span class="stat-value">{all.ack_p95.clone().unwrap_or_else(|| "—".into())}</span>
                <span class="stat-note muted">{format!("95 % of deliveries · average {}", ms(all.ack_avg_ms))}</span>
            </div>
            <a class="card stat" href=paths::ADMIN_JOBS data-stat="jobs">
                <span class="stat-label">"Jobs waiting"</span>
                <span class="stat-value">{jobs.ready + jobs.running}</span>
                <span class={if jobs.dead > 0 { "stat-note error-text" } else { "stat-note muted" }}>
                    {format!("{} dead · {} scheduled", jobs.dead, jobs.scheduled)}
                </span>
                {jobs.oldest_ready_since.as_deref().map(|since| view! {
                    <span class="stat-note muted">{format!("oldest due since {}", utc_minutes(since))}</span>
                })}
            </a>
            <a class="card stat" href=paths::ADMIN_SYNC data-stat="conflicts">
                <span class="stat-label">"Conflicts waiting"</span>
                <span class="stat-value">{conflicts}</span>
                <span class="stat-note muted">{format!("{} appointments · {} bookings", page.conflicts.appointments, page.conflicts.bookings)}</span>
            </a>
        </section>

        <section class="card" aria-labelledby="attention-title" data-testid="attention">
            <h2 id="attention-title">"Needs attention"</h2>
            {if attention == 0 {
                view! { <p class="muted">"Nothing: every connection works and its webhooks are subscribed."</p> }.into_any()
            } else {
                view! {
                    <ul class="attention">
                        {page.attention.into_iter().map(|item| view! {
                            <li data-reason=item.reason.as_str()>
                                <ProviderIcon provider=item.provider/>
                                <div class="attention-what">
                                    <strong>{item.reason.label()}</strong>
                                    <span class="small">{format!("{} · {}", item.account_email, item.user_email)}</span>
                                    {item.detail.map(|d| view! { <span class="small muted">{d}</span> })}
                                </div>
                                <a class="button small" href=item.fix_href>{item.fix_label}</a>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>

        <section class="card" aria-labelledby="refused-title" data-testid="refused">
            <h2 id="refused-title">"Refused by limits, " {range.clone()}</h2>
            {if page.refused.is_empty() {
                view! { <p class="muted">"Nothing: no booking, calendar read or API request was over its limit."</p> }.into_any()
            } else {
                view! {
                    <p class="muted small">"The public booking page, live calendar reads and API keys are limited; these requests were answered 429 with when to try again."</p>
                    <ul class="refused">
                        {page.refused.into_iter().map(|r| view! {
                            <li data-limit=r.limit><span>{r.label}</span>" "<strong>{thousands(r.refused)}</strong></li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>

        {page.charts.into_iter().map(|chart| view! { <Chart chart/> }).collect_view()}

        <section class="card" aria-labelledby="providers-title">
            <h2 id="providers-title">"Webhooks by provider, " {range.clone()}</h2>
            <div class="table-wrap">
                <table class="table" data-testid="provider-webhooks">
                    <thead><tr>
                        <th>"Provider"</th><th>"Received"</th><th>"Processed"</th><th>"Queued"</th><th>"Duplicate"</th>
                        <th>"Ignored"</th><th>"Rejected"</th><th>"Failed"</th><th>"Ack average"</th><th>"Ack 95 %"</th>
                    </tr></thead>
                    <tbody>
                        {page.webhooks.into_iter().map(|w| view! { <WebhookRow w/> }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
        <section class="card" aria-labelledby="connections-title">
            <h2 id="connections-title">"Connections and sync runs by provider"</h2>
            <div class="table-wrap">
                <table class="table" data-testid="provider-connections">
                    <thead><tr>
                        <th>"Provider"</th><th>"Connected"</th><th>"Reconnect needed"</th>
                        <th>"Sync runs succeeded"</th><th>"Partly failed"</th><th>"Failed"</th>
                    </tr></thead>
                    <tbody>
                        {page.connections.into_iter().zip(page.sync).map(|(c, s)| view! {
                            <tr data-provider=c.provider.as_str()>
                                <td data-label="Provider" class="nowrap"><ProviderIcon provider=c.provider/>" "{c.provider.label()}</td>
                                <td data-label="Connected">{c.connected}</td>
                                <td data-label="Reconnect needed">{c.error}</td>
                                <td data-label="Sync runs succeeded">{thousands(s.succeeded)}</td>
                                <td data-label="Partly failed">{thousands(s.partial)}</td>
                                <td data-label="Failed">{thousands(s.failed)}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

/// One provider's deliveries (no provider: all of them).
#[component]
fn WebhookRow(w: WebhookTotals) -> impl IntoView {
    let provider = w.provider;
    let name = provider.map_or("All providers", |p| p.label());
    view! {
        <tr data-provider=provider.map_or("all", |p| p.as_str())>
            <td data-label="Provider" class="nowrap">
                {provider.map(|p| view! { <ProviderIcon provider=p/>" " })}
                {if provider.is_none() { view! { <strong>{name}</strong> }.into_any() } else { name.into_any() }}
            </td>
            <WebhookCells w/>
        </tr>
    }
}

#[component]
fn WebhookCells(w: WebhookTotals) -> impl IntoView {
    view! {
        <td data-label="Received">{thousands(w.received)}</td>
        <td data-label="Processed">{thousands(w.processed)}</td>
        <td data-label="Queued">{thousands(w.queued)}</td>
        <td data-label="Duplicate">{thousands(w.duplicate)}</td>
        <td data-label="Ignored">{thousands(w.ignored)}</td>
        <td data-label="Rejected">{thousands(w.rejected)}</td>
        <td data-label="Failed">{thousands(w.failed)}</td>
        <td data-label="Ack average" class="nowrap">{ms(w.ack_avg_ms)}</td>
        <td data-label="Ack 95 %" class="nowrap">{w.ack_p95.unwrap_or_else(|| "—".into())}</td>
    }
}

/// A server-drawn chart, its legend, and its figures as a table.
#[component]
fn Chart(chart: ChartView) -> impl IntoView {
    let title_id = format!("chart-{}", chart.key);
    let labelled_by = title_id.clone();
    view! {
        <section class="card chart" aria-labelledby=labelled_by data-chart=chart.key.clone()>
            <h2 id=title_id>{chart.title.clone()}</h2>
            <figure>
                <div class="chart-svg" inner_html=chart.svg></div>
                <figcaption>
                    <ul class="legend">
                        {chart.legend.into_iter().map(|(label, color)| view! {
                            <li><span class="swatch" style=format!("background:{color}")></span>{label}</li>
                        }).collect_view()}
                    </ul>
                    <p class="small muted">{chart.summary}</p>
                </figcaption>
            </figure>
            <details>
                <summary>"Show as a table"</summary>
                <div class="table-wrap">
                    <table class="table">
                        <thead><tr>{chart.columns.iter().map(|c| view! { <th>{c.clone()}</th> }).collect_view()}</tr></thead>
                        <tbody>
                            {chart.rows.into_iter().map(|row| view! {
                                <tr>
                                    {row.into_iter().zip(chart.columns.clone()).map(|(cell, label)| view! { <td data-label=label>{cell}</td> }).collect_view()}
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            </details>
        </section>
    }
}
