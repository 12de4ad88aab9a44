use super::AdminTabs;
use crate::api::operations::get_audit;
use crate::app::components::connection_status::utc_minutes;
use crate::model::{paths, AuditAction, AuditEntryView, AuditPage};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The filters in the query string, as typed.
#[derive(Clone, Default, PartialEq)]
struct Filters {
    actor: String,
    action: String,
    from: String,
    to: String,
    before: String,
}

/// `/admin/audit`: who did what and when — keys, roles, members,
/// connections, OAuth apps, conflict decisions, replays, retried and
/// discarded jobs, limits reached — newest first, filtered and paged on
/// the server.
#[component]
pub fn AdminAuditPage() -> impl IntoView {
    let query = use_query_map();
    let filters = move || {
        let q = query.get();
        let get = |key: &str| q.get(key).unwrap_or_default();
        Filters {
            actor: get("actor"),
            action: get("action"),
            from: get("from"),
            to: get("to"),
            before: get("before"),
        }
    };
    let page = Resource::new(filters, |f| {
        let some = |s: String| (!s.is_empty()).then_some(s);
        get_audit(
            some(f.actor),
            some(f.action),
            some(f.from),
            some(f.to),
            some(f.before),
        )
    });
    view! {
        <Title text="Audit"/>
        <div class="page-head">
            <h1>"Admin"</h1>
        </div>
        <AdminTabs/>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let shown = filters();
                match page.await {
                    Ok(p) => view! { <Audit page=p filters=shown/> }.into_any(),
                    Err(e) => view! { <p class="flash flash-error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Audit(page: AuditPage, filters: Filters) -> impl IntoView {
    let next = page.next_href.clone();
    let paged = !filters.before.is_empty();
    view! {
        <section class="card">
            <h2>"Audit trail"</h2>
            <p class="muted small">"Every security-relevant action in the team, newest first. Entries are kept as long as webhook events (the retention period) and cannot be changed."</p>
            <form method="get" action=paths::ADMIN_AUDIT class="filters audit-filters">
                <label>
                    "Who"
                    <select name="actor">
                        <option value="" selected=filters.actor.is_empty()>"Anyone"</option>
                        {page.actors.iter().map(|a| view! {
                            <option value=a.clone() selected=filters.actor == *a>{a.clone()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label>
                    "What"
                    <select name="action">
                        <option value="" selected=filters.action.is_empty()>"Any action"</option>
                        {AuditAction::ALL.iter().map(|a| view! {
                            <option value=a.as_str() selected=filters.action == a.as_str()>{a.label()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label>"From" <input type="date" name="from" value=filters.from.clone()/></label>
                <label>"To" <input type="date" name="to" value=filters.to.clone()/></label>
                <div class="filter-actions">
                    <button type="submit" class="button small">"Show"</button>
                    <a class="button small ghost" href=paths::ADMIN_AUDIT>"Clear"</a>
                </div>
            </form>
        </section>
        <Entries entries=page.entries paged=paged/>
        {next.map(|href| view! {
            <p class="pager"><a class="button small" href=href rel="next">"Older entries"</a></p>
        })}
    }
}

#[component]
fn Entries(entries: Vec<AuditEntryView>, paged: bool) -> impl IntoView {
    if entries.is_empty() {
        let what = if paged {
            "No older entries."
        } else {
            "Nothing matches. Actions such as creating an API key, changing a role or disconnecting a calendar appear here as they happen."
        };
        return view! {
            <section class="card empty-state"><h2>"No entries"</h2><p class="muted">{what}</p></section>
        }
        .into_any();
    }
    view! {
        <section class="card">
            <div class="table-wrap">
                <table class="table" data-testid="audit">
                    <thead><tr><th>"When (UTC)"</th><th>"Who"</th><th>"What"</th><th>"On"</th><th>"Detail"</th></tr></thead>
                    <tbody>
                        {entries.into_iter().map(|e| view! {
                            <tr data-action=e.action.as_str()>
                                <td data-label="When (UTC)" class="nowrap">{utc_minutes(&e.at)}</td>
                                <td data-label="Who">
                                    {e.actor.clone()}
                                    <span class="muted small">" · "{e.actor_kind.as_str().replace('_', " ")}</span>
                                </td>
                                <td data-label="What">
                                    {e.action.label()}
                                    {(e.count > 1).then(|| view! { <span class="badge">{format!("×{}", e.count)}</span> })}
                                </td>
                                <td data-label="On">{e.target.clone()}</td>
                                <td data-label="Detail" class="small">{e.detail.clone()}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
    .into_any()
}
