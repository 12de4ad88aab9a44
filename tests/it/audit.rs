//! The audit trail over real HTTP: each security-relevant action an admin
//! or a person takes — and a limit reached, once per minute — shows on
//! `/admin/audit` with who, what, on what and when; filters by actor,
//! action and day; pages on the server; only the team's own entries,
//! only for admins, and over the API only with `audit:read`. Both
//! backends.

use crate::common;
use crate::common::Expect;

use calbridge::model::ApiScope;
use common::booking::{api, json_of, key_for};
use common::connect::{connect, connections, eventually, member_id, sandboxed};
use common::*;
use reqwest::StatusCode;
use serde_json::Value;

async fn trail(app: &TestApp, admin: &reqwest::Client, query: &str) -> Value {
    let resp = admin
        .get(app.url(&format!("/api/audit?{query}")))
        .expect_status(StatusCode::OK)
        .await;
    resp.json().await.unwrap()
}

fn actions(page: &Value) -> Vec<String> {
    page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

fn entry<'a>(page: &'a Value, action: &str) -> &'a Value {
    page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == action)
        .unwrap_or_else(|| panic!("no {action} in {:?}", actions(page)))
}

async fn every_security_action_is_on_the_trail(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let ada = app.client();
    sign_up_first(&app, &ada, "ada@example.com").await;

    // Keys: created, shown once, revoked.
    let resp = post_form(
        &ada,
        &app.url("/admin/api-keys"),
        &[("name", "Voice agent"), ("scope_availability_read", "on")],
    )
    .await;
    // The page shows the key once: read it whole (the reveal is written as
    // the page renders).
    let shown = ada
        .get(app.url(&location(&resp)))
        .expect_status(StatusCode::OK)
        .await
        .text()
        .await
        .unwrap();
    assert!(shown.contains("cbk_"), "the new key is shown");
    let key_id = location(&resp)
        .split("created=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    post_form(
        &ada,
        &app.url(&format!("/admin/api-keys/{key_id}/revoke")),
        &[],
    )
    .await;
    // Members: invited, promoted, demoted, removed.
    post_form(
        &ada,
        &app.url("/admin/users/invites"),
        &[("email", "carl@example.com"), ("role", "member")],
    )
    .await;
    let _bob = join_as_member(&app, &ada, "bob@example.com").await;
    let bob = member_id(&app, &ada, "bob@example.com").await;
    post_form(
        &ada,
        &app.url(&format!("/admin/users/{bob}/role")),
        &[("role", "admin")],
    )
    .await;
    post_form(&ada, &app.url(&format!("/admin/users/{bob}/remove")), &[]).await;
    // A calendar: connected, disconnected.
    connect(&app, &ada, "google", "alice@sandbox.test").await;
    eventually("connected", || async {
        !connections(&app, &ada).await.is_empty()
    })
    .await;
    let connection = connections(&app, &ada).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    post_form(
        &ada,
        &app.url(&format!("/settings/calendars/{connection}/disconnect")),
        &[],
    )
    .await;
    // The team's own OAuth app.
    post_form(
        &ada,
        &app.url("/admin/apps"),
        &[
            ("provider", "google"),
            ("name", "Our Google app"),
            ("client_id", "our-client"),
            ("client_secret", "our-secret-value"),
        ],
    )
    .await;

    let page = trail(&app, &ada, "").await;
    let done = actions(&page);
    for action in [
        "api_key.created",
        "api_key.revealed",
        "api_key.revoked",
        "member.invited",
        "member.role_changed",
        "member.removed",
        "connection.connected",
        "connection.disconnected",
        "oauth_app.changed",
    ] {
        assert!(done.iter().any(|a| a == action), "{action} in {done:?}");
    }
    // Newest first.
    assert_eq!(done[0], "oauth_app.changed", "{done:?}");
    let created = entry(&page, "api_key.created");
    assert_eq!(created["actor"], "ada@example.com");
    assert_eq!(created["actor_kind"], "user");
    assert_eq!(created["target"], "Voice agent");
    assert!(created["detail"]
        .as_str()
        .unwrap()
        .contains("availability:read"));
    let promoted = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "member.role_changed")
        .map(|e| e["detail"].as_str().unwrap())
        .collect::<Vec<_>>();
    assert_eq!(promoted, ["member → admin"]);
    assert_eq!(entry(&page, "member.removed")["target"], "bob@example.com");
    assert_eq!(
        entry(&page, "connection.disconnected")["target"],
        "alice@sandbox.test"
    );
    let app_entry = entry(&page, "oauth_app.changed");
    assert!(
        !app_entry.to_string().contains("our-secret-value"),
        "no secret"
    );
    // Filters: by action, by actor, by day.
    let only = trail(&app, &ada, "action=api_key.revoked").await;
    assert_eq!(actions(&only), ["api_key.revoked"]);
    let by_ada = trail(&app, &ada, "actor=ada%40example.com").await;
    let entries = by_ada["entries"].as_array().unwrap();
    assert!(entries.len() >= 9 && entries.iter().all(|e| e["actor"] == "ada@example.com"));
    assert!(actions(&trail(&app, &ada, "actor=nobody%40example.com").await).is_empty());
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    assert!(actions(&trail(&app, &ada, &format!("from={tomorrow}")).await).is_empty());
    let bad = ada
        .get(app.url("/api/audit?action=everything"))
        .send()
        .await
        .unwrap();
    assert!(bad.status().is_client_error());
    // The page shows it, readable as a table of labelled cells.
    let html = ada
        .get(app.url("/admin/audit?action=api_key.created"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("data-action=\"api_key.created\""), "{html}");
    assert!(html.contains("data-label=\"Who\""));
    assert!(!html.contains("data-action=\"api_key.revoked\""));
    app.stop().await;
}

async fn the_trail_pages_and_stays_in_its_team(backend: Backend) {
    let app = start_app!(backend);
    let ada = app.client();
    sign_up_first(&app, &ada, "ada@example.com").await;
    for n in 0..55 {
        post_form(
            &ada,
            &app.url("/admin/users/invites"),
            &[
                ("email", format!("guest{n}@example.com").as_str()),
                ("role", "member"),
            ],
        )
        .await;
    }
    let first = trail(&app, &ada, "").await;
    assert_eq!(first["entries"].as_array().unwrap().len(), 50);
    assert_eq!(
        entry(&first, "member.invited")["target"],
        "guest54@example.com"
    );
    let before = first["next"].as_str().expect("another page").to_owned();
    let second = trail(&app, &ada, &format!("before={before}")).await;
    let rest: Vec<&str> = second["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["target"].as_str().unwrap())
        .collect();
    assert_eq!(
        rest,
        [
            "guest4@example.com",
            "guest3@example.com",
            "guest2@example.com",
            "guest1@example.com",
            "guest0@example.com"
        ]
    );
    assert!(second["next"].is_null());
    let html = ada
        .get(app.url("/admin/audit"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("rel=\"next\""), "an Older entries link");

    // A member sees none of it; another team sees none of it.
    let bob = join_as_member(&app, &ada, "bob@example.com").await;
    let denied = bob.get(app.url("/api/audit")).send().await.unwrap();
    assert!(denied.status().is_client_error());
    let eve = app.client();
    let other = calbridge::server::accounts::create_admin(
        &app.state.accounts,
        "Rival Co",
        "eve@rival.test",
        "Eve",
        PASSWORD,
        "UTC",
    )
    .await
    .unwrap();
    log_in(&app, &eve, "eve@rival.test", PASSWORD).await;
    assert!(!trail(&app, &eve, "").await.to_string().contains("guest"));

    // Over the API only with audit:read, and only the key's team.
    let (_, key) = key_from_page(
        &app,
        &ada,
        &[("name", "SIEM export"), ("scope_audit_read", "on")],
    )
    .await;
    let (status, body) = json_of(
        api(&key)
            .get(app.url("/api/v1/audit?action=member.invited"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"].as_array().unwrap().len(), 50);
    assert_eq!(body["data"][0]["action"], "member.invited");
    assert!(body["next"].is_string());
    let theirs = api(&key_for(&app, &other.tenant, &[ApiScope::AuditRead]).await);
    let (status, body) = json_of(theirs.get(app.url("/api/v1/audit")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!body.to_string().contains("guest"), "{body}");
    let no_scope = api(&key_for(&app, &other.tenant, &[ApiScope::BookingsRead]).await);
    let (status, body) =
        json_of(no_scope.get(app.url("/api/v1/audit")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    app.stop().await;
}

on_both_backends!(
    every_security_action_is_on_the_trail,
    the_trail_pages_and_stays_in_its_team
);
