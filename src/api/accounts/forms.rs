//! Sign-up, log-in, log-out, profile, invites and members: the form posts.

use crate::api::form::{fail, notice, settle, IdPath};
use crate::model::{paths, Flash, InviteId, Role, UserId};
use crate::server::accounts::{self, KeysRevoked, NewSession, SignupForm};
use crate::server::app_state::AppState;
use crate::server::auth::{AdminCaller, Caller, SESSION_COOKIE};
use crate::server::http::client_addr::ClientAddr;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::cookie::{Cookie, SameSite};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

fn session_cookie(state: &AppState, session: NewSession) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, session.token))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config.cookies_secure())
        .path(paths::HOME)
        .max_age(time_duration(session.max_age_secs))
        .build()
}

fn time_duration(secs: i64) -> cookie::time::Duration {
    cookie::time::Duration::seconds(secs)
}

fn with_query(path: &str, pairs: &[(&str, &str)]) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().filter(|(_, v)| !v.is_empty()))
        .finish();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// Only same-origin relative paths are followed after login. Browsers
/// read `\\` as `/` and drop tabs and newlines, and a proxy may decode
/// percent-escapes, so the path is judged raw and decoded: no control
/// characters, no backslash, nothing that starts a second authority.
fn safe_next(next: Option<&str>) -> &str {
    fn acceptable(path: &str) -> bool {
        let bytes = path.as_bytes();
        path.starts_with('/')
            && !matches!(bytes.get(1), Some(b'/') | Some(b'\\'))
            && !path.chars().any(|c| c.is_control() || c == '\\')
    }
    let Some(next) = next else {
        return paths::MEETINGS;
    };
    let decoded = percent_decode(next);
    let same_origin = url::Url::parse("http://calbridge.invalid/")
        .and_then(|base| base.join(next))
        .is_ok_and(|u| u.host_str() == Some("calbridge.invalid") && u.scheme() == "http");
    if next.len() <= 2048 && acceptable(next) && acceptable(&decoded) && same_origin {
        next
    } else {
        paths::MEETINGS
    }
}

/// Percent-decodes repeatedly (double encoding included), lossily.
fn percent_decode(text: &str) -> String {
    let mut current = text.to_owned();
    for _ in 0..3 {
        let next: String =
            url::form_urlencoded::parse(format!("x={}", current.replace('+', "%2B")).as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
        if next == current {
            break;
        }
        current = next;
    }
    current
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

pub async fn login(
    State(state): State<AppState>,
    client: ClientAddr,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Response {
    let previous = jar.get(SESSION_COOKIE).map(|c| c.value().to_owned());
    match accounts::log_in(
        &state.accounts,
        &form.email,
        &form.password,
        Some(&client.key()),
        previous.as_deref(),
    )
    .await
    {
        Ok(session) => {
            let jar = jar.add(session_cookie(&state, session));
            (jar, Redirect::to(safe_next(form.next.as_deref()))).into_response()
        }
        Err(err) => {
            let back = with_query(
                paths::LOGIN,
                &[
                    ("email", form.email.trim()),
                    ("next", form.next.as_deref().unwrap_or("")),
                ],
            );
            fail(err, &back)
        }
    }
}

#[derive(Deserialize)]
pub struct SignupFormData {
    tenant_name: Option<String>,
    name: String,
    email: String,
    password: String,
    time_zone: String,
    invite: Option<String>,
}

pub async fn signup(
    State(state): State<AppState>,
    client: ClientAddr,
    jar: CookieJar,
    Form(form): Form<SignupFormData>,
) -> Response {
    let invite = form.invite.clone().unwrap_or_default();
    let back = with_query(
        paths::SIGNUP,
        &[("invite", &invite), ("email", form.email.trim())],
    );
    let result = accounts::sign_up(
        &state.accounts,
        SignupForm {
            tenant_name: form.tenant_name,
            name: form.name,
            email: form.email,
            password: form.password,
            time_zone: form.time_zone,
            invite: form.invite,
        },
        Some(&client.key()),
    )
    .await;
    match result {
        Ok(session) => {
            let jar = jar.add(session_cookie(&state, session));
            (jar, notice(paths::MEETINGS, Flash::Welcome)).into_response()
        }
        Err(err) => fail(err, &back),
    }
}

pub async fn logout(State(state): State<AppState>, jar: CookieJar) -> Response {
    if let Some(cookie) = jar.get(SESSION_COOKIE) {
        if let Err(err) = accounts::log_out(&state.accounts, cookie.value()).await {
            return err.into_response();
        }
    }
    let jar = jar.remove(Cookie::build(SESSION_COOKIE).path(paths::HOME));
    (jar, notice(paths::LOGIN, Flash::LoggedOut)).into_response()
}

#[derive(Deserialize)]
pub struct ProfileForm {
    name: String,
    time_zone: String,
}

pub async fn save_profile(
    State(state): State<AppState>,
    caller: Caller,
    Form(form): Form<ProfileForm>,
) -> Response {
    settle(
        accounts::update_profile(&state.accounts, &caller, &form.name, &form.time_zone).await,
        paths::SETTINGS,
        Flash::ProfileSaved,
    )
}

#[derive(Deserialize)]
pub struct InviteForm {
    email: Option<String>,
    role: Role,
}

pub async fn create_invite(
    State(state): State<AppState>,
    admin: AdminCaller,
    Form(form): Form<InviteForm>,
) -> Response {
    settle(
        accounts::create_invite(&state.accounts, &admin, form.email.as_deref(), form.role)
            .await
            .map(drop),
        paths::ADMIN_USERS,
        Flash::InviteCreated,
    )
}

pub async fn revoke_invite(
    State(state): State<AppState>,
    admin: AdminCaller,
    IdPath(id): IdPath<InviteId>,
) -> Response {
    settle(
        accounts::revoke_invite(&state.accounts, &admin, id).await,
        paths::ADMIN_USERS,
        Flash::InviteRevoked,
    )
}

#[derive(Deserialize)]
pub struct RoleForm {
    role: Role,
}

pub async fn change_role(
    State(state): State<AppState>,
    admin: AdminCaller,
    IdPath(id): IdPath<UserId>,
    Form(form): Form<RoleForm>,
) -> Response {
    match accounts::change_role(&state.accounts, &admin, id, form.role).await {
        Ok(KeysRevoked(0)) => notice(paths::ADMIN_USERS, Flash::RoleChanged),
        Ok(_) => notice(paths::ADMIN_USERS, Flash::RoleChangedKeysRevoked),
        Err(e) => fail(e, paths::ADMIN_USERS),
    }
}

pub async fn remove_member(
    State(state): State<AppState>,
    admin: AdminCaller,
    IdPath(id): IdPath<UserId>,
) -> Response {
    match accounts::remove_member(&state.accounts, &admin, id).await {
        Ok(KeysRevoked(0)) => notice(paths::ADMIN_USERS, Flash::MemberRemoved),
        Ok(_) => notice(paths::ADMIN_USERS, Flash::MemberRemovedKeysRevoked),
        Err(e) => fail(e, paths::ADMIN_USERS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_same_origin_paths_are_followed_after_login() {
        let kept = [
            paths::ADMIN_USERS,
            "/meetings?tab=past",
            "/settings/calendars#google",
            "/admin/webhooks?q=invitee%20created",
            "/a/b/../c",
        ];
        for next in kept {
            assert_eq!(safe_next(Some(next)), next, "{next}");
        }
        let refused = [
            "//evil.test",
            "//evil.test/meetings",
            "/\\evil.test",
            "\\\\evil.test",
            "/%09/evil.test",
            "/%0a/evil.test",
            "/%2F/evil.test",
            "/%2f%2fevil.test",
            "/%5Cevil.test",
            "/%255C%255Cevil.test",
            "/\t/evil.test",
            "/\n/evil.test",
            "https:evil.test",
            "https://evil.test",
            "http:/evil.test",
            "javascript:alert(1)",
            "evil.test",
            "",
            " /meetings",
        ];
        for next in refused {
            assert_eq!(safe_next(Some(next)), paths::MEETINGS, "{next:?}");
        }
        assert_eq!(
            safe_next(Some(&format!("/{}", "a".repeat(5000)))),
            paths::MEETINGS
        );
        assert_eq!(safe_next(None), paths::MEETINGS);
    }
}
