use crate::api::accounts::get_signup_mode;
use crate::app::components::time_zone::BrowserTimeZoneInput;
use crate::model::paths;
use crate::model::SignupMode;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SignupPage() -> impl IntoView {
    let query = use_query_map();
    let invite = move || query.get().get("invite");
    let mode = Resource::new(invite, get_signup_mode);
    view! {
        <Title text="Sign up"/>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let email = query.get_untracked().get("email").unwrap_or_default();
                match mode.await {
                    Ok(SignupMode::FirstAccount) => view! {
                        <h1>"Create your team"</h1>
                        <p class="muted">"You are the first person here, so you will be the admin of your team."</p>
                        <SignupForm invite=String::new() email=email locked_email=false team=true/>
                    }
                    .into_any(),
                    Ok(SignupMode::Invite { tenant_name, email: invited }) => {
                        let locked = invited.is_some();
                        view! {
                            <h1>{format!("Join {tenant_name}")}</h1>
                            <p class="muted">"You were invited to calbridge. Choose your name and a password."</p>
                            <SignupForm
                                invite=invite().unwrap_or_default()
                                email=invited.unwrap_or(email)
                                locked_email=locked
                                team=false
                            />
                        }
                        .into_any()
                    }
                    Ok(SignupMode::InviteInvalid) => view! {
                        <h1>"Invite not valid"</h1>
                        <p>"This invite link is invalid, expired or already used. Ask your admin for a new one."</p>
                        <p><a class="button" href=paths::LOGIN>"Go to log in"</a></p>
                    }
                    .into_any(),
                    Ok(SignupMode::Closed) | Err(_) => view! {
                        <h1>"Sign-up is by invitation"</h1>
                        <p>"To join your team on calbridge, ask one of its admins for an invite link."</p>
                        <p><a class="button" href=paths::LOGIN>"Go to log in"</a></p>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn SignupForm(invite: String, email: String, locked_email: bool, team: bool) -> impl IntoView {
    view! {
        <form method="post" action=paths::SIGN_UP class="stack">
            <input type="hidden" name="invite" value=invite/>
            {team.then(|| view! {
                <label>
                    "Team name"
                    <input name="tenant_name" required maxlength="100" placeholder="Acme Inc." autocomplete="organization"/>
                </label>
            })}
            <label>
                "Your name"
                <input name="name" required maxlength="100" autocomplete="name"/>
            </label>
            <label>
                "Email"
                <input type="email" name="email" required autocomplete="username" value=email readonly=locked_email/>
            </label>
            <label>
                "Password"
                <input type="password" name="password" required minlength="10" autocomplete="new-password"/>
                <small class="hint">"At least 10 characters."</small>
            </label>
            <BrowserTimeZoneInput initial="UTC".to_owned()/>
            <button type="submit" class="button primary wide">
                {if team { "Create team" } else { "Join team" }}
            </button>
        </form>
        <p class="muted small center">"Already have an account? " <a href=paths::LOGIN>"Log in"</a></p>
    }
}
