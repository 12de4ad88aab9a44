use crate::model::paths;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    // Plain values in the server-rendered attributes: hydration never
    // overwrites what the person (or their password manager) typed.
    let email = query.get_untracked().get("email").unwrap_or_default();
    let next = query.get_untracked().get("next").unwrap_or_default();
    view! {
        <Title text="Log in"/>
        <h1>"Log in"</h1>
        <form method="post" action=paths::LOG_IN class="stack">
            <input type="hidden" name="next" value=next/>
            <label>
                "Email"
                <input type="email" name="email" required autocomplete="username" value=email/>
            </label>
            <label>
                "Password"
                <input type="password" name="password" required autocomplete="current-password"/>
            </label>
            <button type="submit" class="button primary wide">"Log in"</button>
        </form>
        <p class="muted small center">"New here? Ask an admin of your team for an invite link."</p>
    }
}
