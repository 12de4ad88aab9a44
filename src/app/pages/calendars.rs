use super::settings::SettingsHead;
use crate::api::appointments::get_my_conflicts;
use crate::api::connections::get_connections;
use crate::api::sync::get_my_sync_runs;
use crate::app::components::conflicts::ConflictQueue;
use crate::app::components::connection_status::{utc_short, SubscriptionCell};
use crate::app::components::provider_icon::ProviderIcon;
use crate::app::components::sync_controls::SyncControls;
use crate::app::components::sync_runs::RunsTable;
use crate::model::paths;
use crate::model::{
    ConflictPolicy, ConflictView, ConnectionId, ConnectionState, ConnectionView, Provider,
    SyncRunView,
};
use leptos::prelude::*;
use leptos_meta::Title;

/// `/settings/calendars`: connect providers in a popup, see connections.
#[component]
pub fn CalendarsPage() -> impl IntoView {
    let connections = Resource::new(|| (), |_| get_connections());
    let runs = Resource::new(|| (), |_| get_my_sync_runs());
    let conflicts = Resource::new(|| (), |_| get_my_conflicts());
    view! {
        <Title text="Calendars"/>
        <SettingsHead/>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match (connections.await, runs.await, conflicts.await) {
                    (Ok(list), Ok(runs), Ok(conflicts)) => view! {
                        <Connections initial=list.clone()/>
                        <YourConflicts conflicts/>
                        <YourSyncs connections=list runs/>
                    }.into_any(),
                    (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => view! { <p class="flash flash-error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// What two-way sync does with this calendar's appointments when both
/// sides changed.
#[component]
fn ConflictPolicyForm(connection: ConnectionId, current: ConflictPolicy) -> impl IntoView {
    view! {
        <form method="post" action=paths::SAVE_CONFLICT_POLICY.to(connection) class="policy-form">
            <select name="policy" aria-label="When an appointment changes in calbridge and in the calendar">
                {ConflictPolicy::ALL.iter().map(|&p| view! {
                    <option value=p.as_str() selected=p == current>{p.label()}</option>
                }).collect_view()}
            </select>
            <button type="submit" class="button small">"Save"</button>
        </form>
    }
}

/// The caller's appointments changed on both sides, when there are any.
#[component]
fn YourConflicts(conflicts: Vec<ConflictView>) -> impl IntoView {
    (!conflicts.is_empty()).then(|| {
        view! {
            <h2 class="section-title" id="conflicts">"Conflicts"</h2>
            <p class="muted">"These appointments were changed in calbridge and in your calendar since they last agreed. Keep one version; the other side follows."</p>
            <ConflictQueue conflicts/>
        }
    })
}

/// Each connected account's last sync with Sync now, and the caller's
/// latest sync runs.
#[component]
fn YourSyncs(connections: Vec<ConnectionView>, runs: Vec<SyncRunView>) -> impl IntoView {
    let connected: Vec<ConnectionView> = connections
        .into_iter()
        .filter(|c| c.state == ConnectionState::Connected)
        .collect();
    (!connected.is_empty()).then(|| view! {
        <h2 class="section-title">"Sync"</h2>
        <section class="card">
            <div class="table-wrap">
                <table class="table" data-testid="your-syncs">
                    <thead><tr><th>"Account"</th><th>"Last sync"</th><th>"When both sides change"</th><th></th></tr></thead>
                    <tbody>
                        {connected.into_iter().map(|c| view! {
                            <tr data-connection=c.id.to_string()>
                                <td data-label="Account" title=c.provider.label()><ProviderIcon provider=c.provider/>" "{c.account_email.clone()}</td>
                                <td data-label="Last sync" class="nowrap">{c.last_sync_at.as_deref().map(utc_short).unwrap_or_else(|| "not yet".into())}</td>
                                <td data-label="When both sides change">{match c.provider {
                                    Provider::Calendly => view! { <span class="muted">"—"</span> }.into_any(),
                                    _ => view! { <ConflictPolicyForm connection=c.id current=c.conflict_policy/> }.into_any(),
                                }}</td>
                                <td><SyncControls connection=c.id admin=false/></td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
        <h2 class="section-title">"Your recent syncs"</h2>
        {if runs.is_empty() {
            view! { <p class="muted">"No syncs yet."</p> }.into_any()
        } else {
            view! { <RunsTable runs link=false/> }.into_any()
        }}
    })
}

/// The connect buttons and the caller's connections. An island: the popup
/// reports its result by `postMessage`, and the list is fetched again in
/// place, without a reload.
#[island]
fn Connections(initial: Vec<ConnectionView>) -> impl IntoView {
    let connections = RwSignal::new(initial);
    let result = RwSignal::new(None::<(bool, String)>);
    #[cfg(feature = "hydrate")]
    {
        let refetch = move || {
            leptos::task::spawn_local(async move {
                match get_connections().await {
                    Ok(list) => connections.set(list),
                    Err(e) => result.set(Some((false, e.to_string()))),
                }
            });
        };
        let handle =
            window_event_listener(leptos::ev::message, move |ev: web_sys::MessageEvent| {
                let own_origin = window().location().origin().unwrap_or_default();
                if ev.origin() != own_origin {
                    return;
                }
                let field = |name: &str| {
                    js_sys::Reflect::get(&ev.data(), &name.into())
                        .ok()
                        .and_then(|v| v.as_string())
                };
                let message = field("message").unwrap_or_default();
                match field("type").as_deref() {
                    Some("calbridge:connected") => {
                        result.set(Some((true, message)));
                        refetch();
                    }
                    Some("calbridge:error") => result.set(Some((false, message))),
                    _ => {}
                }
            });
        on_cleanup(move || handle.remove());
    }
    view! {
        {move || result.get().map(|(ok, text)| {
            let class = if ok { "flash flash-notice" } else { "flash flash-error" };
            view! { <div class=class role="status" data-testid="connect-result">{text}</div> }
        })}
        <section class="card">
            <h2>"Connect a calendar"</h2>
            <p class="muted">"A window opens at the provider; approve access there and your calendar appears below."</p>
            <div class="connect-buttons">
                {Provider::ALL.into_iter().map(|p| view! { <ConnectButton provider=p/> }).collect_view()}
            </div>
        </section>
        {move || {
            let list = connections.get();
            if list.is_empty() {
                view! {
                    <section class="card empty-state">
                        <h2>"No calendars connected yet"</h2>
                        <p class="muted">"Connect Calendly, Google Calendar or Outlook above."</p>
                    </section>
                }.into_any()
            } else {
                view! { <ConnectionList connections=list/> }.into_any()
            }
        }}
    }
}

/// A link that opens the provider in a popup; when popups are blocked (or
/// before the page hydrates) it navigates the whole page instead.
#[component]
fn ConnectButton(provider: Provider) -> impl IntoView {
    let href = paths::CONNECT_START.to(provider.as_str());
    let label = format!("Connect {}", provider.label());
    let target = href.clone();
    let open = move |ev: leptos::ev::MouseEvent| {
        #[cfg(feature = "hydrate")]
        {
            ev.prevent_default();
            let w = window();
            // A fresh window each time: reusing a named one could hand us a
            // popup that is still closing, and the flow would go nowhere.
            let popup = w.open_with_url_and_target_and_features(
                &target,
                "_blank",
                "popup,width=520,height=720",
            );
            if !matches!(popup, Ok(Some(_))) {
                let _ = w.location().set_href(&target);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, &target);
    };
    view! {
        <a class=format!("button connect connect-{}", provider.as_str()) href=href on:click=open>
            <ProviderIcon provider/>
            {label}
        </a>
    }
}

#[component]
fn ConnectionList(connections: Vec<ConnectionView>) -> impl IntoView {
    view! {
        <section class="card">
            <h2>"Your connections"</h2>
            <div class="table-wrap">
                <table class="table">
                    <thead><tr><th>"Provider"</th><th>"Account"</th><th>"State"</th><th>"Last sync (UTC)"</th><th>"Webhooks"</th><th>"Token expires"</th><th></th></tr></thead>
                    <tbody>
                        {connections.iter().map(|c| {
                            let active = c.state != ConnectionState::Disconnected;
                            view! {
                                <tr data-connection=c.account_email.clone() data-provider=c.provider.as_str()>
                                    <td data-label="Provider" class="nowrap"><ProviderIcon provider=c.provider/>" "{c.provider.label()}</td>
                                    <td data-label="Account">{c.account_email.clone()}<br/><span class="muted small">{c.account_name.clone()}" · since "{c.connected_at.get(..10).unwrap_or_default().to_owned()}</span></td>
                                    <td data-label="State">
                                        <span class=format!("badge badge-{}", c.state.as_str())>{c.state.as_str()}</span>
                                        {c.last_error.clone().map(|e| view! { <br/><span class="error-text small">{e}</span> })}
                                    </td>
                                    <td data-label="Last sync (UTC)" class="nowrap">{c.last_sync_at.as_deref().map(utc_short).unwrap_or_else(|| "never".into())}</td>
                                    <td data-label="Webhooks"><SubscriptionCell connection=c.clone()/></td>
                                    <td data-label="Token expires" class="nowrap">{c.token_expires_at.as_deref().filter(|_| active).map(utc_short).unwrap_or_else(|| "—".into())}</td>
                                    <td class="actions">
                                        {active.then(|| view! {
                                            <form method="post" action=paths::TEST_CONNECTION.to(c.id)>
                                                <button type="submit" class="button small">"Test"</button>
                                            </form>
                                        })}
                                        <a class="button small" href=paths::CONNECT_START.to(c.provider.as_str())>"Reconnect"</a>
                                        {active.then(|| view! {
                                            <form method="post" action=paths::DISCONNECT.to(c.id)>
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
        {connections.into_iter()
            .filter(|c| c.state == ConnectionState::Connected && !c.calendars.is_empty())
            .map(|c| view! { <CalendarChoice connection=c/> })
            .collect_view()}
    }
}

/// Which calendars of a Google or Outlook account count as busy, and which
/// one receives new bookings.
#[component]
fn CalendarChoice(connection: ConnectionView) -> impl IntoView {
    let action = paths::SAVE_CALENDARS.to(connection.id);
    view! {
        <section class="card" data-calendars=connection.account_email.clone()>
            <h2><ProviderIcon provider=connection.provider/>" Calendars of "{connection.account_email.clone()}</h2>
            <form method="post" action=action>
                <div class="table-wrap">
                    <table class="table">
                        <thead><tr><th>"Calendar"</th><th>"Counts as busy"</th><th>"New bookings go here"</th></tr></thead>
                        <tbody>
                            {connection.calendars.into_iter().map(|cal| view! {
                                <tr>
                                    <td data-label="Calendar">{cal.name.clone()}{cal.primary.then(|| view! { " " <span class="badge">"primary"</span> })}</td>
                                    <td data-label="Counts as busy"><input type="checkbox" name="busy" value=cal.id.to_string() checked=cal.busy aria-label=format!("{} counts as busy", cal.name)/></td>
                                    <td data-label="New bookings go here">
                                        <input type="radio" name="booking" value=cal.id.to_string() checked=cal.booking_target disabled=!cal.writable aria-label=format!("New bookings go to {}", cal.name)/>
                                        {(!cal.writable).then(|| view! { " " <span class="muted small">"read-only"</span> })}
                                    </td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
                <button type="submit" class="button primary">"Save calendars"</button>
            </form>
        </section>
    }
}
