use crate::app::components::time_zone::TimeZoneInput;
use crate::app::ShellResource;
use crate::model::paths;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn SettingsPage() -> impl IntoView {
    let shell = expect_context::<ShellResource>();
    view! {
        <Title text="Settings"/>
        <SettingsHead/>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let user = shell.await.ok().and_then(|s| s.user);
                user.map(|user| view! {
                    <section class="card">
                        <h2>"Profile"</h2>
                        <form method="post" action=paths::SAVE_PROFILE class="stack narrow">
                            <label>
                                "Name"
                                <input name="name" required maxlength="100" value=user.name.clone()/>
                            </label>
                            <label>
                                "Email"
                                <input type="email" value=user.email.clone() readonly/>
                                <small class="hint">"Your login. Ask an admin to change it."</small>
                            </label>
                            <TimeZoneInput initial=user.time_zone.clone()/>
                            <div><button type="submit" class="button primary">"Save profile"</button></div>
                        </form>
                    </section>
                    <section class="card">
                        <h2>"Team"</h2>
                        <dl class="facts">
                            <dt>"Team"</dt><dd>{user.tenant_name.clone()}</dd>
                            <dt>"Your role"</dt><dd><span class=format!("badge badge-{}", user.role)>{user.role.to_string()}</span></dd>
                        </dl>
                    </section>
                })
            })}
        </Suspense>
    }
}

/// The heading and tabs of the settings area.
#[component]
pub fn SettingsHead() -> impl IntoView {
    view! {
        <div class="page-head">
            <h1>"Settings"</h1>
        </div>
        <nav class="tabs" aria-label="Settings">
            <leptos_router::components::A href=paths::SETTINGS exact=true>"Profile"</leptos_router::components::A>
            <leptos_router::components::A href=paths::CALENDARS>"Calendars"</leptos_router::components::A>
            <leptos_router::components::A href=paths::BOOKING_SETTINGS>"Booking"</leptos_router::components::A>
        </nav>
    }
}
