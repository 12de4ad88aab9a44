use super::AdminTabs;
use crate::api::api_keys::get_api_keys;
use crate::app::components::connection_status::utc_minutes;
use crate::model::{paths, ApiKeyView, ApiScope, CreatedApiKey};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// `/admin/api-keys`: keys for integrations and AI agents (the booking API
/// and MCP), each shown once when created.
#[component]
pub fn AdminApiKeysPage() -> impl IntoView {
    let query = use_query_map();
    let created = move || query.get().get("created");
    let page = Resource::new(created, get_api_keys);
    view! {
        <Title text="API keys"/>
        <div class="page-head">
            <h1>"Admin"</h1>
        </div>
        <AdminTabs/>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(p) => view! {
                        {p.created.map(|c| view! { <NewKey created=c/> })}
                        <CreateKey/>
                        <Keys keys=p.keys/>
                    }
                    .into_any(),
                    Err(e) => view! { <p class="flash flash-error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn NewKey(created: CreatedApiKey) -> impl IntoView {
    view! {
        <section class="card new-key" data-testid="new-api-key">
            <h2>"Your new key “"{created.name}"”"</h2>
            <p>"Copy it now and store it where your integration keeps secrets. calbridge keeps only a hash and cannot show it again."</p>
            <label class="field-label" for="new-api-key">"API key"</label>
            <input id="new-api-key" class="code-input" type="text" readonly value=created.key onfocus="this.select()"/>
            <p class="hint">"Use it as " <code>"Authorization: Bearer <key>"</code> " for " <code>"/api/v1"</code> " and for the MCP server at " <code>{paths::MCP}</code> "."</p>
        </section>
    }
}

#[component]
fn CreateKey() -> impl IntoView {
    view! {
        <section class="card">
            <h2>"Create an API key"</h2>
            <form method="post" action=paths::CREATE_API_KEY class="stack-form">
                <label>
                    "Name"
                    <input type="text" name="name" required maxlength="100" placeholder="Voice agent"/>
                </label>
                <fieldset class="checks">
                    <legend>"Scopes"</legend>
                    <p class="hint">"A key can do only what its scopes say. A booking agent needs the first three."</p>
                    {ApiScope::ALL.into_iter().map(|scope| {
                        let usual = matches!(scope, ApiScope::AvailabilityRead | ApiScope::BookingsRead | ApiScope::BookingsWrite);
                        view! {
                            <label class="check">
                                <input type="checkbox" name=scope.field() checked=usual/>
                                <code>{scope.as_str()}</code>" — "{scope.description()}
                            </label>
                        }
                    }).collect_view()}
                </fieldset>
                <label>
                    "Requests a minute"
                    <input type="number" name="rate_limit" inputmode="numeric" min="1" max="1000000" placeholder="120"/>
                    <small class="hint">"Past it the key is answered 429 with when to retry. Empty: 120."</small>
                </label>
                <div>
                    <button type="submit" class="button primary">"Create key"</button>
                </div>
            </form>
            <p class="hint">
                "A key acts for this team only. The API is described at "
                <a href="/api/v1/openapi.json">"/api/v1/openapi.json"</a>
                "; agents load their tools from "
                <a href="/api/v1/agent/tools">"/api/v1/agent/tools"</a>"."
            </p>
        </section>
    }
}

#[component]
fn Keys(keys: Vec<ApiKeyView>) -> impl IntoView {
    if keys.is_empty() {
        return view! {
            <section class="card empty-state"><h2>"No API keys yet"</h2>
            <p class="muted">"Create one above to let an integration or an AI agent check availability and book."</p></section>
        }
        .into_any();
    }
    view! {
        <section class="card">
            <h2>"Keys"</h2>
            <div class="table-wrap">
                <table class="table">
                    <thead><tr><th>"Name"</th><th>"Key"</th><th>"Scopes"</th><th>"Per minute"</th><th>"Created"</th><th>"Last used"</th><th>"Status"</th><th></th></tr></thead>
                    <tbody>
                        {keys.into_iter().map(|k| {
                            let live = k.revoked_at.is_none();
                            view! {
                                <tr data-api-key=k.name.clone()>
                                    <td data-label="Name">{k.name.clone()}</td>
                                    <td data-label="Key" class="nowrap"><code>{k.prefix.clone()}"…"</code></td>
                                    <td data-label="Scopes">{k.scopes.iter().map(|s| view! { <code class="scope" title=s.description()>{s.as_str()}</code>" " }).collect_view()}</td>
                                    <td data-label="Per minute">{k.rate_limit_per_minute}</td>
                                    <td data-label="Created" class="nowrap">{utc_minutes(&k.created_at)}<br/><span class="muted small">{k.created_by.clone()}</span></td>
                                    <td data-label="Last used" class="nowrap">{k.last_used_at.as_deref().map(utc_minutes).unwrap_or_else(|| "never".into())}</td>
                                    <td data-label="Status">{if live {
                                        view! { <span class="badge badge-connected">"active"</span> }.into_any()
                                    } else {
                                        view! { <span class="badge badge-disconnected">"revoked"</span> }.into_any()
                                    }}</td>
                                    <td class="actions">
                                        {live.then(|| view! {
                                            <form method="post" action=paths::REVOKE_API_KEY.to(k.id)>
                                                <button type="submit" class="button small danger-outline">"Revoke"</button>
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
    .into_any()
}
