//! The UI: document shell, router and layouts.

mod components;
mod pages;
mod resource;

use crate::api::accounts::get_shell;
use crate::model::ShellInfo;
use components::layout::{AppLayout, AuthLayout};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{ParentRoute, Redirect, Route, Router, Routes};
use leptos_router::{path, Lazy};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The logged-in user (or none), loaded once per page and shared by context.
pub type ShellResource = Resource<Result<ShellInfo, crate::model::ApiError>, resource::Json>;

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let shell: ShellResource = resource::resource(|| (), |_| get_shell());
    provide_context(shell);

    view! {
        <Stylesheet id="leptos" href="/pkg/calbridge.css"/>
        <Title formatter=|text: String| if text.is_empty() { "calbridge".to_owned() } else { format!("{text} · calbridge") }/>
        // Login and the 404 page are in the main WASM. Sign-up, the signed-in
        // pages and the admin pages are lazy routes: with `cargo leptos build
        // --split` each group is a WASM chunk fetched when one of its pages is
        // shown, so /login downloads none of them.
        <Router>
            <Routes fallback=|| view! { <AppLayout><pages::not_found::NotFound/></AppLayout> }>
                <ParentRoute path=path!("") view=AuthLayout>
                    <Route path=path!("login") view=pages::login::LoginPage/>
                    <Route path=path!("signup") view={Lazy::<pages::signup::SignupRoute>::new()}/>
                </ParentRoute>
                <ParentRoute path=path!("") view=|| view! { <AppLayout><leptos_router::components::Outlet/></AppLayout> }>
                    <Route path=path!("") view=|| view! { <Redirect path="/meetings"/> }/>
                    <Route path=path!("meetings") view={Lazy::<pages::meetings::MeetingsRoute>::new()}/>
                    <Route path=path!("settings") view={Lazy::<pages::settings::SettingsRoute>::new()}/>
                    <Route path=path!("settings/calendars") view={Lazy::<pages::calendars::CalendarsRoute>::new()}/>
                    <Route path=path!("admin") view=|| view! { <Redirect path="/admin/users"/> }/>
                    <Route path=path!("admin/users") view={Lazy::<pages::admin::users::AdminUsersRoute>::new()}/>
                    <Route path=path!("admin/apps") view={Lazy::<pages::admin::apps::AdminAppsRoute>::new()}/>
                    <Route path=path!("admin/connections") view={Lazy::<pages::admin::connections::AdminConnectionsRoute>::new()}/>
                    <Route path=path!("admin/jobs") view={Lazy::<pages::admin::jobs::AdminJobsRoute>::new()}/>
                    <Route path=path!("admin/webhooks") view={Lazy::<pages::admin::webhooks::AdminWebhooksRoute>::new()}/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}
