use crate::model::{ApiError, MembersPage, ShellInfo, SignupMode};
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

/// Who is logged in, for the header and page guards.
#[server(endpoint = "shell", input = GetUrl)]
pub async fn get_shell() -> Result<ShellInfo, ApiError> {
    let caller = super::context::caller().await?;
    Ok(ShellInfo {
        user: caller.map(|c| c.view()),
        sandbox_providers: {
            let state = super::context::state();
            state
                .config
                .endpoints
                .any_under(&state.config.public_link("/sandbox"))
        },
    })
}

/// Which sign-up form to show.
#[server(endpoint = "signup_mode", input = GetUrl)]
pub async fn get_signup_mode(invite: Option<String>) -> Result<SignupMode, ApiError> {
    let state = super::context::state();
    Ok(crate::server::accounts::signup_mode(&state.accounts, invite.as_deref()).await?)
}

/// Members and pending invites of the caller's tenant (admins only).
#[server(endpoint = "members", input = GetUrl)]
pub async fn get_members() -> Result<MembersPage, ApiError> {
    let admin = super::context::require_admin().await?;
    let state = super::context::state();
    Ok(crate::server::accounts::members_page(&state.accounts, &admin).await?)
}

#[cfg(feature = "ssr")]
pub mod forms;
