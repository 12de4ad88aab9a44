use super::AdminTabs;
use crate::api::connections::get_oauth_apps;
use crate::app::components::copy_field::CopyField;
use crate::model::paths;
use crate::model::{AppSource, OAuthAppView};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AdminAppsPage() -> impl IntoView {
    let apps = Resource::new(|| (), |_| get_oauth_apps());
    view! {
        <Title text="OAuth apps"/>
        <div class="page-head">
            <h1>"Admin"</h1>
        </div>
        <AdminTabs/>
        <p class="muted">
            "calbridge signs your users in to each provider with an OAuth app. The instance default is used unless your team adds its own app here. Register the redirect URI exactly as shown at the provider."
        </p>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match apps.await {
                    Ok(list) => list.into_iter().map(|app| view! { <AppCard app/> }).collect_view().into_any(),
                    Err(e) => view! { <p class="flash flash-error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn AppCard(app: OAuthAppView) -> impl IntoView {
    let provider = app.provider.as_str();
    let (state_label, state_class) = match app.source {
        AppSource::Missing => (
            "not configured".to_owned(),
            "badge badge-missing".to_owned(),
        ),
        _ => (
            app.state.as_str().to_owned(),
            format!("badge badge-{}", app.state.as_str()),
        ),
    };
    let source = match app.source {
        AppSource::Tenant => "Your team's app",
        AppSource::Instance => "Instance default",
        AppSource::Missing => "No app configured",
    };
    let has_own = app.source == AppSource::Tenant;
    let default_name = if has_own {
        app.name.clone()
    } else {
        format!("{} app", app.provider.label())
    };
    view! {
        <section class="card app-card" id=provider data-provider=provider>
            <div class="app-head">
                <h2>{app.provider.label()}</h2>
                <span class=state_class>{state_label}</span>
                <span class="muted small">{source}</span>
            </div>
            <dl class="facts">
                <dt>"Redirect URI"</dt>
                <dd><CopyField value=app.redirect_uri.clone() label="Redirect URI".to_owned()/></dd>
                {(app.source != AppSource::Missing).then(|| view! {
                    <dt>"Client ID"</dt><dd class="mono">{app.client_id.clone()}</dd>
                    <dt>"Client secret"</dt><dd class="mono">{app.client_secret.clone()}</dd>
                })}
                {app.last_checked_at.clone().map(|t| view! { <dt>"Last checked"</dt><dd>{t}</dd> })}
                {app.last_error.clone().map(|e| view! { <dt>"Last error"</dt><dd class="error-text">{e}</dd> })}
            </dl>
            <div class="actions start">
                {(app.source != AppSource::Missing).then(|| view! {
                    <form method="post" action=paths::TEST_OAUTH_APP.to(provider)>
                        <button type="submit" class="button small">"Test"</button>
                    </form>
                })}
                {has_own.then(|| view! {
                    <form method="post" action=paths::DELETE_OAUTH_APP.to(provider)>
                        <button type="submit" class="button small danger-outline">"Use instance default"</button>
                    </form>
                })}
            </div>
            <details class="app-edit" open=app.source == AppSource::Missing>
                <summary>{if has_own { "Edit your team's app" } else { "Use your team's own app" }}</summary>
                <form method="post" action=paths::ADMIN_APPS class="stack narrow">
                    <input type="hidden" name="provider" value=provider/>
                    <label>
                        "Name"
                        <input name="name" required maxlength="100" value=default_name/>
                    </label>
                    <label>
                        "Client ID"
                        <input name="client_id" required maxlength="255" autocomplete="off" value=if has_own { app.client_id.clone() } else { String::new() }/>
                    </label>
                    <label>
                        "Client secret"
                        <input
                            type="password"
                            name="client_secret"
                            autocomplete="new-password"
                            required=!has_own
                            placeholder=if has_own { "*** (leave empty to keep the stored secret)" } else { "" }
                        />
                    </label>
                    <div><button type="submit" class="button primary">"Save app"</button></div>
                </form>
            </details>
        </section>
    }
}
