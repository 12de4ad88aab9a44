use super::AdminTabs;
use crate::api::connections::get_tenant_connections;
use crate::api::operations::get_jobs;
use crate::app::components::connection_status::{utc_minutes, utc_short, SubscriptionCell};
use crate::app::components::provider_icon::ProviderIcon;
use crate::model::paths;
use crate::model::{ConnectionState, Provider, TenantConnectionView};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// `/admin/connections`: every connection in the tenant, filterable.
#[component]
pub fn AdminConnectionsPage() -> impl IntoView {
    let query = use_query_map();
    let filter = move || {
        let q = query.get();
        (
            q.get("provider").filter(|p| !p.is_empty()),
            q.get("state").filter(|s| !s.is_empty()),
        )
    };
    let rows = Resource::new(filter, |(provider, state)| {
        get_tenant_connections(provider, state)
    });
    let jobs = Resource::new(|| (), |_| get_jobs(Some("dead".into())));
    view! {
        <Title text="Connections"/>
        <div class="page-head">
            <h1>"Admin"</h1>
        </div>
        <AdminTabs/>
        <Transition fallback=|| ()>
            {move || jobs.get().and_then(Result::ok).map(|page| view! {
                <p class="muted small" data-testid="scheduler">
                    "Renewals and token refreshes run from the scheduler; next run: "
                    {page.scheduler_next_run.as_deref().map(utc_minutes).unwrap_or_else(|| "not scheduled".into())}
                    ". "
                    <a href=paths::ADMIN_JOBS>"Jobs"</a>
                </p>
            })}
        </Transition>
        <form method="get" action=paths::ADMIN_CONNECTIONS class="inline-form filters">
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
                "State"
                <select name="state">
                    <option value="">"All states"</option>
                    {[ConnectionState::Connected, ConnectionState::Error, ConnectionState::Disconnected].into_iter().map(|s| {
                        let selected = move || filter().1.as_deref() == Some(s.as_str());
                        view! { <option value=s.as_str() selected=selected>{s.as_str()}</option> }
                    }).collect_view()}
                </select>
            </label>
            <button type="submit" class="button">"Filter"</button>
        </form>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || rows.get().map(|r| match r {
                Ok(list) if list.is_empty() => view! {
                    <section class="card empty-state"><h2>"No connections"</h2>
                    <p class="muted">"Nobody in your team has connected a calendar that matches."</p></section>
                }.into_any(),
                Ok(list) => view! { <ConnectionsTable rows=list/> }.into_any(),
                Err(e) => view! { <p class="flash flash-error">{e.to_string()}</p> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn ConnectionsTable(rows: Vec<TenantConnectionView>) -> impl IntoView {
    view! {
        <section class="card">
            <div class="table-wrap">
                <table class="table">
                    <thead><tr><th>"User"</th><th>"Provider"</th><th>"Account"</th><th>"State"</th><th>"Last sync (UTC)"</th><th>"Webhooks"</th><th>"Token expires"</th><th></th></tr></thead>
                    <tbody>
                        {rows.into_iter().map(|r| {
                            let c = r.connection;
                            let active = c.state != ConnectionState::Disconnected;
                            view! {
                                <tr data-connection=c.account_email.clone() data-provider=c.provider.as_str()>
                                    <td data-label="User">{r.user_name.clone()}<br/><span class="muted small">{r.user_email.clone()}</span></td>
                                    <td data-label="Provider" class="nowrap"><ProviderIcon provider=c.provider/>" "{c.provider.label()}</td>
                                    <td data-label="Account">{c.account_email.clone()}</td>
                                    <td data-label="State">
                                        <span class=format!("badge badge-{}", c.state.as_str())>{c.state.as_str()}</span>
                                        {c.last_error.clone().map(|e| view! { <br/><span class="error-text small">{e}</span> })}
                                    </td>
                                    <td data-label="Last sync (UTC)" class="nowrap">{c.last_sync_at.as_deref().map(utc_short).unwrap_or_else(|| "never".into())}</td>
                                    <td data-label="Webhooks"><SubscriptionCell connection=c.clone()/></td>
                                    <td data-label="Token expires" class="nowrap">{c.token_expires_at.as_deref().filter(|_| active).map(utc_short).unwrap_or_else(|| "—".into())}</td>
                                    <td class="actions">
                                        {active.then(|| view! {
                                            <form method="post" action=paths::ADMIN_REFRESH_CONNECTION.to(c.id)>
                                                <button type="submit" class="button small">"Force refresh"</button>
                                            </form>
                                            <form method="post" action=paths::ADMIN_RESYNC_CONNECTION.to(c.id)>
                                                <button type="submit" class="button small">"Force resync"</button>
                                            </form>
                                            <form method="post" action=paths::ADMIN_DISCONNECT_CONNECTION.to(c.id)>
                                                <button type="submit" class="button small danger-outline">"Disconnect"</button>
                                            </form>
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
