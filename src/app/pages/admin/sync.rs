//! `/admin/sync`: every connection's sync health with Sync now / Full
//! resync, the tenant's sync runs, newest first, filterable, and the
//! conflicts waiting for a decision; a run's page lists the items it
//! changed.

use super::AdminTabs;
use crate::api::appointments::get_conflict_queue;
use crate::api::sync::{get_sync_page, get_sync_run};
use crate::app::components::conflicts::ConflictQueue;
use crate::app::components::connection_status::utc_short;
use crate::app::components::provider_icon::ProviderIcon;
use crate::app::components::sync_controls::SyncControls;
use crate::app::components::sync_runs::RunsTable;
use crate::model::{
    paths, ConnectionHealthView, Provider, SyncOutcome, SyncPage, SyncRunDetail, SyncRunId,
    SyncTrigger,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

/// The filters, as the query string holds them.
#[derive(Clone, Default, PartialEq)]
struct Filters {
    user: String,
    provider: String,
    connection: String,
    outcome: String,
    trigger: String,
    before: String,
}

#[component]
pub fn AdminSyncPage() -> impl IntoView {
    let query = use_query_map();
    let filters = move || {
        let q = query.get();
        let get = |k: &str| q.get(k).unwrap_or_default();
        Filters {
            user: get("user"),
            provider: get("provider"),
            connection: get("connection"),
            outcome: get("outcome"),
            trigger: get("trigger"),
            before: get("before"),
        }
    };
    let page = Resource::new(filters, |f| {
        let some = |v: String| (!v.is_empty()).then_some(v);
        get_sync_page(
            some(f.user),
            some(f.provider),
            some(f.connection),
            some(f.outcome),
            some(f.trigger),
            some(f.before),
        )
    });
    let conflicts = Resource::new(|| (), |_| get_conflict_queue());
    view! {
        <Title text="Sync"/>
        <div class="page-head">
            <h1>"Admin"</h1>
        </div>
        <AdminTabs/>
        <h2 class="section-title" id="conflicts">"Conflicts"</h2>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || conflicts.get().map(|r| match r {
                Ok(conflicts) => view! {
                    <ConflictQueue conflicts as_admin=true/>
                }.into_any(),
                Err(e) => view! { <p class="flash flash-error">{e.to_string()}</p> }.into_any(),
            })}
        </Transition>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || page.get().map(|r| match r {
                Ok(page) => view! { <SyncView page filters=filters()/> }.into_any(),
                Err(e) => view! { <p class="flash flash-error">{e.to_string()}</p> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn SyncView(page: SyncPage, filters: Filters) -> impl IntoView {
    let SyncPage {
        health,
        runs,
        older,
    } = page;
    // A GET form, so the browser encodes the filters it carries on.
    let kept = [
        ("user", filters.user.clone()),
        ("provider", filters.provider.clone()),
        ("connection", filters.connection.clone()),
        ("outcome", filters.outcome.clone()),
        ("trigger", filters.trigger.clone()),
    ];
    let older_form = older.map(|id| {
        view! {
            <form method="get" action=paths::ADMIN_SYNC>
                {kept.into_iter().filter(|(_, v)| !v.is_empty()).map(|(name, value)| view! {
                    <input type="hidden" name=name value=value/>
                }).collect_view()}
                <input type="hidden" name="before" value=id.to_string()/>
                <button type="submit" class="button small">"Older runs"</button>
            </form>
        }
    });
    view! {
        <HealthTable rows=health.clone()/>
        <h2 class="section-title">"Sync runs"</h2>
        <RunFilters health filters/>
        {if runs.is_empty() {
            view! {
                <section class="card empty-state"><h2>"No sync runs"</h2>
                <p class="muted">"Every read of a calendar feed and every export to a calendar appears here."</p></section>
            }.into_any()
        } else {
            view! { <RunsTable runs/> }.into_any()
        }}
        {older_form}
    }
}

#[component]
fn HealthTable(rows: Vec<ConnectionHealthView>) -> impl IntoView {
    view! {
        <h2 class="section-title">"Connections"</h2>
        <section class="card">
            <div class="table-wrap">
                <table class="table" data-testid="sync-health">
                    <thead><tr><th>"Account"</th><th>"User"</th><th>"Last success"</th><th>"Last failure"</th><th>"Backlog"</th><th>"Cursor moved"</th><th>"Sync"</th></tr></thead>
                    <tbody>
                        {rows.into_iter().map(|h| {
                            let needs_reconnect = h.state != crate::model::ConnectionState::Connected;
                            view! {
                                <tr data-connection=h.connection.to_string() data-provider=h.provider.as_str()>
                                    <td data-label="Account" title=h.provider.label()><ProviderIcon provider=h.provider/>" "{h.account_email.clone()}</td>
                                    <td data-label="User">{h.user_email.clone()}</td>
                                    <td data-label="Last success" class="nowrap">{h.last_success_at.as_deref().map(utc_short).unwrap_or_else(|| "never".into())}</td>
                                    <td data-label="Last failure">{match h.last_failure.clone() {
                                        Some((at, why)) => view! { <span class="nowrap">{utc_short(&at)}</span><br/><span class="muted small">{why}</span> }.into_any(),
                                        None => view! { <span class="muted">"—"</span> }.into_any(),
                                    }}</td>
                                    <td data-label="Backlog">{h.backlog}</td>
                                    <td data-label="Cursor moved" class="nowrap">{h.cursor_at.as_deref().map(utc_short).unwrap_or_else(|| "—".into())}</td>
                                    <td data-label="Sync">{if needs_reconnect {
                                        view! { <span class="badge badge-error">"reconnect needed"</span> }.into_any()
                                    } else {
                                        view! { <SyncControls connection=h.connection admin=true/> }.into_any()
                                    }}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

/// The filter form: a GET, so the filters are in the URL and work
/// without JavaScript.
#[component]
fn RunFilters(health: Vec<ConnectionHealthView>, filters: Filters) -> impl IntoView {
    let mut users: Vec<(String, String)> = health
        .iter()
        .map(|h| (h.user.to_string(), h.user_email.clone()))
        .collect();
    users.sort();
    users.dedup();
    let words = |all: &[(&'static str, &'static str)]| -> Vec<(String, String)> {
        all.iter()
            .map(|(v, l)| (v.to_string(), l.to_string()))
            .collect()
    };
    let providers: Vec<_> = Provider::ALL.map(|p| (p.as_str(), p.label())).to_vec();
    let outcomes: Vec<_> = SyncOutcome::ALL
        .iter()
        .map(|o| (o.as_str(), o.label()))
        .collect();
    let triggers: Vec<_> = SyncTrigger::ALL
        .iter()
        .map(|t| (t.as_str(), t.label()))
        .collect();
    let connections = health
        .iter()
        .map(|h| {
            (
                h.connection.to_string(),
                format!("{} ({})", h.account_email, h.provider.label()),
            )
        })
        .collect();
    view! {
        <form method="get" action=paths::ADMIN_SYNC class="inline-form filters" data-testid="sync-filters">
            <FilterSelect label="User" name="user" all="All users" options=users current=filters.user/>
            <FilterSelect label="Provider" name="provider" all="All providers" options=words(&providers) current=filters.provider/>
            <FilterSelect label="Connection" name="connection" all="All connections" options=connections current=filters.connection/>
            <FilterSelect label="Outcome" name="outcome" all="All outcomes" options=words(&outcomes) current=filters.outcome/>
            <FilterSelect label="Trigger" name="trigger" all="All triggers" options=words(&triggers) current=filters.trigger/>
            <button type="submit" class="button">"Filter"</button>
        </form>
    }
}

/// One filter: "all", or one of `options` (value, label).
#[component]
fn FilterSelect(
    label: &'static str,
    name: &'static str,
    all: &'static str,
    options: Vec<(String, String)>,
    current: String,
) -> impl IntoView {
    view! {
        <label>{label}
            <select name=name>
                <option value="">{all}</option>
                {options.into_iter().map(|(value, text)| {
                    let selected = value == current;
                    view! { <option value=value selected=selected>{text}</option> }
                }).collect_view()}
            </select>
        </label>
    }
}

/// `/admin/sync/runs/{id}`.
#[component]
pub fn AdminSyncRunPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .get()
            .get("id")
            .and_then(|id| id.parse::<SyncRunId>().ok())
    };
    let detail = Resource::new(id, |id| async move {
        match id {
            Some(id) => get_sync_run(id).await,
            None => Err(crate::model::ApiError::NotFound),
        }
    });
    view! {
        <Title text="Sync run"/>
        <div class="page-head">
            <h1>"Admin"</h1>
        </div>
        <AdminTabs/>
        <p><a href=paths::ADMIN_SYNC>"← All sync runs"</a></p>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || detail.get().map(|r| match r {
                Ok(detail) => view! { <RunDetail detail/> }.into_any(),
                Err(e) => view! { <p class="flash flash-error">{e.to_string()}</p> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn RunDetail(detail: SyncRunDetail) -> impl IntoView {
    let SyncRunDetail {
        run,
        items,
        items_not_kept,
    } = detail;
    view! {
        <RunsTable runs=vec![run.clone()] link=false/>
        <section class="card">
            <h2>"Counts"</h2>
            <dl class="counts" data-testid="sync-counts">
                {run.counts.each().into_iter().map(|(action, n)| view! {
                    <div><dt>{action.label()}</dt><dd data-action=action.as_str()>{n}</dd></div>
                }).collect_view()}
            </dl>
            {run.calendar_id.clone().map(|c| view! { <p class="muted small">"Calendar: "<code>{c}</code></p> })}
        </section>
        <h2 class="section-title">"Items"</h2>
        {if items.is_empty() {
            view! { <section class="card empty-state"><p class="muted">"This run changed nothing."</p></section> }.into_any()
        } else {
            view! {
                <section class="card">
                    <div class="table-wrap">
                        <table class="table" data-testid="sync-items">
                            <thead><tr><th>"What"</th><th>"Event"</th><th>"Starts (UTC)"</th><th>"Id"</th></tr></thead>
                            <tbody>
                                {items.into_iter().map(|i| view! {
                                    <tr data-action=i.action.as_str()>
                                        <td data-label="What"><span class=format!("badge badge-item-{}", i.action.as_str())>{i.action.label()}</span></td>
                                        <td data-label="Event">{i.title.clone().unwrap_or_else(|| "—".into())}
                                            {i.detail.clone().map(|d| view! { <br/><span class="muted small">{d}</span> })}</td>
                                        <td data-label="Starts (UTC)" class="nowrap">{i.starts_at.as_deref().map(utc_short).unwrap_or_default()}</td>
                                        <td data-label="Id"><code class="small">{i.external_id.clone()}</code></td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                </section>
            }.into_any()
        }}
        {(items_not_kept > 0).then(|| view! {
            <p class="muted small">{format!("…and {items_not_kept} more not kept in the log (each run keeps its first {}).", crate::model::SYNC_ITEMS_KEPT)}</p>
        })}
    }
}
