use super::flash::FlashMessage;
use crate::app::ShellResource;
use crate::model::paths;
use crate::model::CurrentUser;
use leptos::prelude::*;
use leptos_router::components::{Outlet, A};

/// Says so on every page when providers are the built-in sandbox.
#[component]
fn SandboxBanner() -> impl IntoView {
    let shell = expect_context::<ShellResource>();
    let on = move || {
        shell
            .get()
            .and_then(|r| r.ok())
            .is_some_and(|s| s.sandbox_providers)
    };
    view! {
        <Transition fallback=|| ()>
            {move || on().then(|| view! {
                <div class="sandbox-banner" role="note">
                    <strong>"Sandbox providers"</strong>
                    " — book a meeting in the "
                    <a href=paths::SANDBOX rel="external">"sandbox panel"</a>
                    " and watch it arrive on Meetings, live."
                </div>
            })}
        </Transition>
    }
}

/// Login and sign-up: a centred card, no navigation.
#[component]
pub fn AuthLayout() -> impl IntoView {
    view! {
        <SandboxBanner/>
        <div class="auth-page">
            <div class="auth-brand">
                <Logo/>
                <p class="tagline">"Calendly, Google Calendar and Outlook, live in your product."</p>
            </div>
            <div class="card auth-card">
                <FlashMessage/>
                <Outlet/>
            </div>
        </div>
    }
}

#[component]
pub fn Logo() -> impl IntoView {
    view! {
        <a href=paths::HOME class="logo">
            <svg viewBox="0 0 24 24" width="26" height="26" aria-hidden="true">
                <rect x="3" y="4" width="18" height="17" rx="4" fill="currentColor" opacity="0.15"/>
                <rect x="3" y="4" width="18" height="5" rx="2" fill="currentColor"/>
                <path d="M8 14h3m2 0h3M8 17.5h8" stroke="currentColor" stroke-width="1.8" stroke-linecap="round"/>
            </svg>
            <span>"calbridge"</span>
        </a>
    }
}

/// The public booking pages: the brand, no navigation, no account.
#[component]
pub fn PublicLayout() -> impl IntoView {
    view! {
        <SandboxBanner/>
        <header class="topbar">
            <div class="topbar-inner"><Logo/></div>
        </header>
        <main class="content public">
            <FlashMessage/>
            <Outlet/>
        </main>
    }
}

/// Every page behind login: header with navigation and user menu.
#[component]
pub fn AppLayout(children: Children) -> impl IntoView {
    let shell = expect_context::<ShellResource>();
    let user = move || shell.get().and_then(|r| r.ok()).and_then(|s| s.user);
    view! {
        <SandboxBanner/>
        <header class="topbar">
            <div class="topbar-inner">
                <Logo/>
                <Transition fallback=|| ()>
                    {move || user().map(|u| view! { <Nav user=u/> })}
                </Transition>
            </div>
        </header>
        <main class="content">
            <FlashMessage/>
            {children()}
        </main>
    }
}

#[component]
fn Nav(user: CurrentUser) -> impl IntoView {
    let is_admin = user.is_admin();
    let initials: String = user
        .name
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(2)
        .collect::<String>()
        .to_uppercase();
    // The links inline on wide screens; behind a Menu button (a
    // `<details>`, so it opens before and without WASM) on narrow ones.
    let links = move || {
        view! {
            <A href=paths::MEETINGS>"Meetings"</A>
            <A href=paths::SETTINGS>"Settings"</A>
            {is_admin.then(|| view! { <A href=paths::ADMIN_USERS>"Admin"</A> })}
        }
    };
    view! {
        <nav class="mainnav" aria-label="Main">{links()}</nav>
        <details class="navmenu">
            <summary aria-label="Menu">
                <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
                    <path d="M4 7h16M4 12h16M4 17h16" stroke="currentColor" stroke-width="2" stroke-linecap="round"/>
                </svg>
                <span>"Menu"</span>
            </summary>
            <nav class="navmenu-panel" aria-label="Main (menu)">{links()}</nav>
        </details>
        <details class="usermenu">
            <summary aria-label="Account menu">
                <span class="avatar">{initials}</span>
                <span class="usermenu-name">{user.name.clone()}</span>
            </summary>
            <div class="usermenu-panel">
                <p class="usermenu-who">
                    <strong>{user.name.clone()}</strong>
                    <span>{user.email.clone()}</span>
                    <span class="muted">{format!("{} · {}", user.tenant_name, user.role)}</span>
                </p>
                <a href=paths::SETTINGS>"Profile settings"</a>
                <form method="post" action=paths::LOG_OUT>
                    <button type="submit" class="linklike">"Log out"</button>
                </form>
            </div>
        </details>
    }
}
