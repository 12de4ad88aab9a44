//! Accounts, sessions, invites, roles and tenant isolation over real HTTP,
//! on SQLite and PostgreSQL.

use crate::common;
use crate::common::Expect;

use calbridge::model::{paths, Role};
use calbridge::server::accounts;
use common::*;
use reqwest::StatusCode;

async fn first_signup_creates_tenant_and_admin(backend: Backend) {
    let app = start_app!(backend);
    let client = app.client();
    let resp = sign_up_first(&app, &client, "Ada@Example.com").await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/meetings?notice=welcome");
    let cookie = resp
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("calbridge_session="))
        .expect("session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain http public URL: {cookie}"
    );

    let me = shell(&app, &client).await;
    assert_eq!(me["user"]["email"], "ada@example.com");
    assert_eq!(me["user"]["role"], "admin");
    assert_eq!(me["user"]["tenant_name"], "Acme");
    assert_eq!(me["user"]["time_zone"], "Europe/Berlin");

    let page = client.get(app.url("/meetings")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Ada Admin"), "app shell shows the user");
    assert!(
        html.contains("href=\"/admin/users\""),
        "admins see the Admin link"
    );
    app.stop().await;
}

async fn second_signup_without_invite_is_refused(backend: Backend) {
    let app = start_app!(backend);
    sign_up_first(&app, &app.client(), "ada@example.com").await;
    let stranger = app.client();
    let form = stranger
        .get(app.url("/signup"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(form.contains("Sign-up is by invitation"));
    let resp = sign_up_first(&app, &stranger, "eve@example.com").await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&resp).contains("error=signup_closed"),
        "{}",
        location(&resp)
    );
    assert!(shell(&app, &stranger).await["user"].is_null());
    let resp = log_in(&app, &stranger, "eve@example.com", PASSWORD).await;
    assert!(
        location(&resp).contains("error=invalid_credentials"),
        "no account was created"
    );
    app.stop().await;
}

async fn invite_flow(backend: Backend) {
    let app = start_app!(backend);
    let admin = app.client();
    sign_up_first(&app, &admin, "ada@example.com").await;

    let resp = post_form(
        &admin,
        &app.url("/admin/users/invites"),
        &[("email", ""), ("role", "member")],
    )
    .await;
    assert_eq!(location(&resp), "/admin/users?notice=invite_created");
    let listed = members(&app, &admin).await;
    let link = listed["invites"][0]["link"]
        .as_str()
        .expect("invite link")
        .to_owned();
    assert!(
        link.starts_with(&format!("{}/signup?invite=", app.base)),
        "{link}"
    );
    let path = link.trim_start_matches(&app.base).to_owned();
    let token = link.split("invite=").nth(1).unwrap().to_owned();

    let invitee = app.client();
    let page = invitee
        .get(app.url(&path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Join Acme"), "invite page names the team");
    let resp = accept_invite(
        &app,
        &invitee,
        &token,
        "Bob Member",
        "bob@example.com",
        "America/New_York",
    )
    .await;
    assert_eq!(location(&resp), "/meetings?notice=welcome");
    let me = shell(&app, &invitee).await;
    assert_eq!(me["user"]["email"], "bob@example.com");
    assert_eq!(me["user"]["role"], "member");
    assert_eq!(me["user"]["tenant_name"], "Acme");

    // Used once: the link is gone from the list and cannot be reused.
    let listed = members(&app, &admin).await;
    assert_eq!(listed["invites"].as_array().unwrap().len(), 0);
    assert_eq!(listed["members"].as_array().unwrap().len(), 2);
    let again = app.client();
    let resp = accept_invite(&app, &again, &token, "Mallory", "m@example.com", "UTC").await;
    assert!(
        location(&resp).contains("error=invite_invalid"),
        "{}",
        location(&resp)
    );

    // An invite bound to an email only works for that email.
    post_form(
        &admin,
        &app.url("/admin/users/invites"),
        &[("email", "carol@example.com"), ("role", "admin")],
    )
    .await;
    let listed = members(&app, &admin).await;
    let link = listed["invites"][0]["link"].as_str().unwrap().to_owned();
    let token = link.split("invite=").nth(1).unwrap().to_owned();
    let carol = app.client();
    let wrong = accept_invite(&app, &carol, &token, "Not Carol", "dave@example.com", "UTC").await;
    assert!(location(&wrong).contains("error=email_mismatch"));
    let right = accept_invite(&app, &carol, &token, "Carol", "carol@example.com", "UTC").await;
    assert_eq!(location(&right), "/meetings?notice=welcome");
    assert_eq!(shell(&app, &carol).await["user"]["role"], "admin");

    // A revoked invite cannot be used.
    post_form(
        &admin,
        &app.url("/admin/users/invites"),
        &[("email", ""), ("role", "member")],
    )
    .await;
    let listed = members(&app, &admin).await;
    let invite_id = listed["invites"][0]["id"].as_str().unwrap().to_owned();
    let token = listed["invites"][0]["link"]
        .as_str()
        .unwrap()
        .split("invite=")
        .nth(1)
        .unwrap()
        .to_owned();
    let resp = post_form(
        &admin,
        &app.url(&format!("/admin/users/invites/{invite_id}/revoke")),
        &[],
    )
    .await;
    assert_eq!(location(&resp), "/admin/users?notice=invite_revoked");
    let late = accept_invite(
        &app,
        &app.client(),
        &token,
        "Late",
        "late@example.com",
        "UTC",
    )
    .await;
    assert!(location(&late).contains("error=invite_invalid"));
    app.stop().await;
}

async fn login_and_logout(backend: Backend) {
    let app = start_app!(backend);
    sign_up_first(&app, &app.client(), "ada@example.com").await;
    let client = app.client();
    let resp = log_in(&app, &client, "ADA@example.com ", PASSWORD).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/meetings");
    let token = session_token(&resp);
    assert_eq!(
        shell(&app, &client).await["user"]["email"],
        "ada@example.com"
    );

    let resp = post_form(&client, &app.url("/auth/logout"), &[]).await;
    assert_eq!(location(&resp), "/login?notice=logged_out");
    assert!(shell(&app, &client).await["user"].is_null());
    // The old token is dead server-side, not just forgotten by the browser.
    let replay = app.client();
    let resp = replay
        .get(app.url("/meetings"))
        .header("Cookie", format!("calbridge_session={token}"))
        .expect_status(StatusCode::SEE_OTHER)
        .await;
    assert!(location(&resp).starts_with("/login"));

    // Logging in again rotates the session: the previous token stops working.
    let resp = log_in(&app, &client, "ada@example.com", PASSWORD).await;
    let first = session_token(&resp);
    let resp = log_in(&app, &client, "ada@example.com", PASSWORD).await;
    let second = session_token(&resp);
    assert_ne!(first, second);
    let resp = replay
        .get(app.url("/api/shell"))
        .header("Cookie", format!("calbridge_session={first}"))
        .send()
        .await
        .unwrap();
    assert!(resp.json::<serde_json::Value>().await.unwrap()["user"].is_null());

    // `next` brings the user back where they were going, but never off-site.
    let resp = post_form(
        &client,
        &app.url("/auth/login"),
        &[
            ("email", "ada@example.com"),
            ("password", PASSWORD),
            ("next", "/admin/users"),
        ],
    )
    .await;
    assert_eq!(location(&resp), "/admin/users");
    let resp = post_form(
        &client,
        &app.url("/auth/login"),
        &[
            ("email", "ada@example.com"),
            ("password", PASSWORD),
            ("next", "//evil.test/"),
        ],
    )
    .await;
    assert_eq!(location(&resp), "/meetings");
    app.stop().await;
}

fn session_token(resp: &reqwest::Response) -> String {
    resp.cookies()
        .find(|c| c.name() == "calbridge_session")
        .map(|c| c.value().to_owned())
        .expect("session cookie")
}

async fn wrong_password_and_unknown_email_look_alike_and_are_throttled(backend: Backend) {
    let app = start_app!(backend);
    sign_up_first(&app, &app.client(), "ada@example.com").await;
    let client = app.client();
    let wrong = log_in(&app, &client, "ada@example.com", "not the password").await;
    let unknown = log_in(&app, &client, "nobody@example.com", PASSWORD).await;
    let code = |r: &reqwest::Response| {
        location(r)
            .split('&')
            .find(|p| p.contains("error="))
            .unwrap_or_default()
            .trim_start_matches("/login?")
            .to_owned()
    };
    assert_eq!(code(&wrong), "error=invalid_credentials");
    assert_eq!(code(&unknown), code(&wrong));
    let wrong_page = client
        .get(app.url(&location(&wrong)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(wrong_page.contains("Email or password is incorrect."));

    for _ in 0..5 {
        log_in(&app, &client, "ada@example.com", "still wrong").await;
    }
    let blocked = log_in(&app, &client, "ada@example.com", PASSWORD).await;
    assert!(
        location(&blocked).contains("error=rate_limited"),
        "{}",
        location(&blocked)
    );
    assert!(shell(&app, &client).await["user"].is_null());
    app.stop().await;
}

async fn sessions_expire(backend: Backend) {
    let app = start_app!(
        backend,
        Options {
            session_ttl_secs: 1,
            ..Options::default()
        }
    );
    let client = app.client();
    sign_up_first(&app, &client, "ada@example.com").await;
    assert_eq!(
        client
            .get(app.url("/meetings"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    let resp = client.get(app.url("/meetings")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/login?next=%2Fmeetings");
    assert!(shell(&app, &client).await["user"].is_null());
    let post = post_form(
        &client,
        &app.url("/settings/profile"),
        &[("name", "X"), ("time_zone", "UTC")],
    )
    .await;
    assert_eq!(location(&post), "/login?error=session_expired");
    app.stop().await;
}

async fn members_cannot_reach_admin(backend: Backend) {
    let app = start_app!(backend);
    let admin = app.client();
    sign_up_first(&app, &admin, "ada@example.com").await;
    let member = join_as_member(&app, &admin, "bob@example.com").await;

    let page = member.get(app.url("/admin/users")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    let html = page.text().await.unwrap();
    assert!(html.contains("Admins only"));
    assert_eq!(
        member.get(app.url("/admin")).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let meetings = member
        .get(app.url("/meetings"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !meetings.contains("href=\"/admin/users\""),
        "members do not see the Admin link"
    );

    let resp = post_form(
        &member,
        &app.url("/admin/users/invites"),
        &[("email", ""), ("role", "admin")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let api = member.get(app.url("/api/members")).send().await.unwrap();
    assert!(!api.status().is_success());
    let listed = members(&app, &admin).await;
    assert_eq!(
        listed["invites"].as_array().unwrap().len(),
        0,
        "the member's invite attempt stored nothing"
    );
    app.stop().await;
}

async fn tenants_cannot_touch_each_other(backend: Backend) {
    let app = start_app!(backend);
    let admin1 = app.client();
    sign_up_first(&app, &admin1, "ada@example.com").await;
    join_as_member(&app, &admin1, "bob@example.com").await;

    // A second tenant, created by the operator.
    let t2_admin = accounts::create_admin(
        &app.state.accounts,
        "Globex",
        "hank@globex.test",
        "Hank",
        PASSWORD,
        "UTC",
    )
    .await
    .unwrap();
    let admin2 = app.client();
    log_in(&app, &admin2, "hank@globex.test", PASSWORD).await;
    let globex_member = join_as_member(&app, &admin2, "gina@globex.test").await;
    drop(globex_member);
    post_form(
        &admin2,
        &app.url("/admin/users/invites"),
        &[("email", ""), ("role", "member")],
    )
    .await;
    let t2: serde_json::Value = members(&app, &admin2).await;
    let gina = t2["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == "gina@globex.test")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let t2_invite = t2["invites"][0]["id"].as_str().unwrap().to_owned();

    // Tenant 1's admin sees only tenant 1.
    let t1: serde_json::Value = members(&app, &admin1).await;
    let text = t1.to_string();
    assert!(!text.contains("globex"), "tenant 2 data leaked: {text}");
    assert_eq!(t1["members"].as_array().unwrap().len(), 2);

    // Ids of tenant 2 are simply not found for tenant 1.
    for path in [
        format!("/admin/users/{gina}/role"),
        format!("/admin/users/{gina}/remove"),
        format!("/admin/users/{}/remove", t2_admin.user_id()),
        format!("/admin/users/invites/{t2_invite}/revoke"),
    ] {
        let resp = post_form(&admin1, &app.url(&path), &[("role", "admin")]).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let t2_after: serde_json::Value = members(&app, &admin2).await;
    assert_eq!(
        t2_after["members"], t2["members"],
        "nothing changed in tenant 2"
    );
    assert_eq!(t2_after["invites"], t2["invites"]);
    // Malformed ids are 404 too, not 500.
    let resp = post_form(&admin1, &app.url("/admin/users/not-a-uuid/remove"), &[]).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}

async fn roles_and_removal(backend: Backend) {
    let app = start_app!(backend);
    let admin = app.client();
    sign_up_first(&app, &admin, "ada@example.com").await;
    let bob = join_as_member(&app, &admin, "bob@example.com").await;
    let page: serde_json::Value = members(&app, &admin).await;
    let id_of = |email: &str| {
        page["members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["email"] == email)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (ada, bob_id) = (id_of("ada@example.com"), id_of("bob@example.com"));

    // The only admin cannot demote themselves or be left without an admin.
    let resp = post_form(
        &admin,
        &app.url(&format!("/admin/users/{ada}/role")),
        &[("role", "member")],
    )
    .await;
    assert!(location(&resp).contains("error=last_admin"));
    let resp = post_form(&admin, &app.url(&format!("/admin/users/{ada}/remove")), &[]).await;
    assert!(location(&resp).contains("error=not_yourself"));

    let resp = post_form(
        &admin,
        &app.url(&format!("/admin/users/{bob_id}/role")),
        &[("role", "admin")],
    )
    .await;
    assert_eq!(location(&resp), "/admin/users?notice=role_changed");
    assert_eq!(
        shell(&app, &bob).await["user"]["role"],
        Role::Admin.as_str()
    );
    let bad = post_form(
        &admin,
        &app.url(&format!("/admin/users/{bob_id}/role")),
        &[("role", "owner")],
    )
    .await;
    assert!(bad.status().is_client_error(), "unknown role is a 4xx");

    // Keys do not outlive their creator's admin role: demoting Bob
    // revokes the key he made, and the page says so.
    let key = create_key_as(&app, &bob, "Bob's agent").await;
    assert_eq!(hosts_with(&app, &key).await, StatusCode::OK);
    let resp = post_form(
        &admin,
        &app.url(&format!("/admin/users/{bob_id}/role")),
        &[("role", "member")],
    )
    .await;
    assert_eq!(
        location(&resp),
        "/admin/users?notice=role_changed_keys_revoked"
    );
    assert_eq!(hosts_with(&app, &key).await, StatusCode::UNAUTHORIZED);
    let resp = post_form(
        &admin,
        &app.url(&format!("/admin/users/{bob_id}/role")),
        &[("role", "admin")],
    )
    .await;
    assert_eq!(location(&resp), "/admin/users?notice=role_changed");
    assert_eq!(hosts_with(&app, &key).await, StatusCode::UNAUTHORIZED);
    let key = create_key_as(&app, &bob, "Bob's second agent").await;
    assert_eq!(hosts_with(&app, &key).await, StatusCode::OK);

    // Nor their membership.
    let resp = post_form(
        &admin,
        &app.url(&format!("/admin/users/{bob_id}/remove")),
        &[],
    )
    .await;
    assert_eq!(
        location(&resp),
        "/admin/users?notice=member_removed_keys_revoked"
    );
    assert_eq!(hosts_with(&app, &key).await, StatusCode::UNAUTHORIZED);
    assert!(
        shell(&app, &bob).await["user"].is_null(),
        "a removed member's sessions end"
    );
    let resp = log_in(&app, &app.client(), "bob@example.com", PASSWORD).await;
    assert!(location(&resp).contains("error=invalid_credentials"));
    app.stop().await;
}

/// Creates an API key on `/admin/api-keys` as `admin` and returns it, as
/// the page shows it once.
async fn create_key_as(app: &TestApp, admin: &reqwest::Client, name: &str) -> String {
    key_from_page(
        app,
        admin,
        &[("name", name), ("scope_availability_read", "on")],
    )
    .await
    .1
}

async fn hosts_with(app: &TestApp, key: &str) -> StatusCode {
    reqwest::Client::new()
        .get(app.url("/api/v1/hosts"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .status()
}

async fn profile_and_validation(backend: Backend) {
    let app = start_app!(backend);
    let client = app.client();
    sign_up_first(&app, &client, "ada@example.com").await;
    let resp = post_form(
        &client,
        &app.url("/settings/profile"),
        &[("name", "Ada L."), ("time_zone", "Asia/Tokyo")],
    )
    .await;
    assert_eq!(location(&resp), "/settings?notice=profile_saved");
    let me = shell(&app, &client).await;
    assert_eq!(me["user"]["name"], "Ada L.");
    assert_eq!(me["user"]["time_zone"], "Asia/Tokyo");
    for (name, tz, code) in [
        ("", "UTC", "invalid_name"),
        ("Ada", "Mars/Base", "invalid_time_zone"),
    ] {
        let resp = post_form(
            &client,
            &app.url("/settings/profile"),
            &[("name", name), ("time_zone", tz)],
        )
        .await;
        assert!(location(&resp).contains(code), "{}", location(&resp));
    }
    assert_eq!(
        shell(&app, &client).await["user"]["name"],
        "Ada L.",
        "bad input changed nothing"
    );
    // Missing fields are a clear 4xx.
    let resp = post_form(&client, &app.url("/settings/profile"), &[("name", "x")]).await;
    assert!(resp.status().is_client_error());
    app.stop().await;
}

/// 50 wrong passwords for one account at once: the throttle's check and
/// count are one step, so only its limit (5) reach argon2; the rest are
/// refused before any hashing, and so is the right password while the
/// email is throttled.
async fn concurrent_guesses_reach_argon2_at_most_the_limit(backend: Backend) {
    let app = start_app!(backend);
    sign_up_first(&app, &app.client(), "ada@example.com").await;
    let guesses = (0..50).map(|i| {
        let client = app.client();
        let app = &app;
        async move {
            let resp = log_in(
                app,
                &client,
                "ada@example.com",
                &format!("guess number {i}"),
            )
            .await;
            location(&resp)
        }
    });
    let outcomes = futures::future::join_all(guesses).await;
    let checked = outcomes
        .iter()
        .filter(|l| l.contains("error=invalid_credentials"))
        .count();
    let refused = outcomes
        .iter()
        .filter(|l| l.contains("error=rate_limited"))
        .count();
    assert_eq!(checked + refused, 50, "{outcomes:?}");
    assert!(checked <= 5, "{checked} guesses reached argon2");
    assert!(checked >= 1);
    let right = log_in(&app, &app.client(), "ada@example.com", PASSWORD).await;
    assert!(location(&right).contains("error=rate_limited"));
    app.stop().await;
}

/// Sign-up refuses what it can before hashing: a closed instance and a bad
/// invite cost no argon2, and repeated failures from one address are
/// throttled.
async fn signup_refusals_are_cheap_and_throttled(backend: Backend) {
    let app = start_app!(backend);
    sign_up_first(&app, &app.client(), "ada@example.com").await;
    let client = app.client();
    let mut codes = Vec::new();
    for i in 0..12 {
        let resp = accept_invite(
            &app,
            &client,
            &format!("no-such-invite-{i}"),
            "Eve",
            "eve@example.com",
            "UTC",
        )
        .await;
        codes.push(location(&resp));
    }
    assert!(codes[0].contains("error=invite_invalid"), "{codes:?}");
    assert!(
        codes.last().unwrap().contains("error=rate_limited"),
        "{codes:?}"
    );
    let huge = format!("{}@example.com", "a".repeat(300));
    let resp = log_in(&app, &app.client(), &huge, PASSWORD).await;
    assert!(location(&resp).contains("error=invalid_credentials"));
    app.stop().await;
}

async fn first_signup_races_create_one_tenant(backend: Backend) {
    let app = start_app!(backend);
    let attempts = (0..6).map(|i| {
        let client = app.client();
        let app = &app;
        async move {
            let email = format!("founder{i}@example.com");
            let resp = sign_up_first(app, &client, &email).await;
            location(&resp) == "/meetings?notice=welcome"
        }
    });
    let results = futures::future::join_all(attempts).await;
    assert_eq!(results.iter().filter(|ok| **ok).count(), 1, "{results:?}");
    app.stop().await;
}

/// Every page the UI links to renders: the router and `model::paths` agree.
async fn every_page_renders(backend: Backend) {
    let app = start_app!(backend);
    let admin = app.client();
    sign_up_first(&app, &admin, "ada@example.com").await;
    let visitor = app.client();
    for page in paths::PAGES {
        let client = match paths::access(page) {
            paths::Access::Anonymous => &visitor,
            _ => &admin,
        };
        let resp = client.get(app.url(page)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{page}");
        let html = resp.text().await.unwrap();
        assert!(!html.contains("Page not found"), "{page} is routed");
        let loads_wasm = html.contains(".wasm\"");
        if paths::WITHOUT_ISLANDS.contains(page) {
            assert!(!html.contains("<leptos-island"), "{page} renders no island");
            assert!(!loads_wasm, "{page} loads no WASM");
        } else {
            assert!(loads_wasm, "{page} loads the WASM for its islands");
        }
    }
    let missing = admin.get(app.url("/no-such-page")).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}

on_both_backends!(
    first_signup_creates_tenant_and_admin,
    second_signup_without_invite_is_refused,
    invite_flow,
    login_and_logout,
    wrong_password_and_unknown_email_look_alike_and_are_throttled,
    sessions_expire,
    members_cannot_reach_admin,
    tenants_cannot_touch_each_other,
    roles_and_removal,
    profile_and_validation,
    first_signup_races_create_one_tenant,
    concurrent_guesses_reach_argon2_at_most_the_limit,
    signup_refusals_are_cheap_and_throttled,
    every_page_renders,
);
