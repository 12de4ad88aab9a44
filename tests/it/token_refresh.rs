//! Token refreshes never hold a write transaction (or SQLite's write gate)
//! while the provider answers, and stay one-per-connection across
//! instances: a lease on the connection row, then a compare-and-set.

use crate::common;

use calbridge::server::providers::calendly::webhook as signature;
use common::connect::*;
use common::process::{connect as connect_process, free_port, Server};
use common::sandbox::start_sandbox;
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The token endpoint is held for 3 s; meanwhile a signed webhook delivery
/// is stored and acknowledged, and a login succeeds — the refresh is still
/// in flight when both come back.
async fn writes_go_on_while_a_refresh_waits_on_the_provider(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let ada = app.client();
    sign_up_first(&app, &ada, "ada@example.com").await;
    let id = connect_calendly(&app, &ada).await;
    let sandbox = app.state.sandbox.as_ref().unwrap();
    eventually("the webhook subscription exists", || async {
        sandbox.world().calendly.subscriptions.len() == 1
    })
    .await;
    let (hook, key, creator) = {
        let world = sandbox.world();
        let sub = &world.calendly.subscriptions[0];
        (
            sub.callback_url.clone(),
            sub.signing_key.clone(),
            sub.creator.clone(),
        )
    };
    expire_tokens(&app).await;
    reqwest::Client::new()
        .post(app.url("/sandbox/_control/faults"))
        .json(&json!({"provider": "calendly", "endpoint": "/oauth/token", "latency_ms": 3000}))
        .send()
        .await
        .unwrap();

    let test_call = {
        let ada = ada.clone();
        let url = app.url(&format!("/settings/calendars/{id}/test"));
        tokio::spawn(async move { location(&ada.post(url).send().await.unwrap()) })
    };
    eventually("the refresh holds its lease", || async {
        sqlx::query_scalar::<_, Option<String>>("SELECT refresh_lease_owner FROM connections")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap()
            .is_some()
    })
    .await;

    let body = json!({
        "event": "invitee.created",
        "created_at": "2030-01-01T09:00:00.000000Z",
        "created_by": format!("{}/calendly/users/{creator}", app.url("/sandbox")),
        "payload": {"uri": app.url("/sandbox/calendly/scheduled_events/E/invitees/I")},
    })
    .to_string();
    let header = signature::sign(
        key.as_bytes(),
        chrono::Utc::now().timestamp(),
        body.as_bytes(),
    );
    let delivered = reqwest::Client::new()
        .post(&hook)
        .header("content-type", "application/json")
        .header("Calendly-Webhook-Signature", header)
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(delivered.status().is_success(), "{}", delivered.status());
    let login = log_in(&app, &app.client(), "ada@example.com", PASSWORD).await;
    assert_eq!(location(&login), "/meetings");
    assert!(
        !test_call.is_finished(),
        "the webhook and the login waited for the provider's token call"
    );
    assert!(!token_events_at(&app.url("/sandbox"))
        .await
        .contains(&"refresh".to_owned()));

    assert_eq!(
        test_call.await.unwrap(),
        "/settings/calendars?notice=connection_ok"
    );
    let kinds = token_events_at(&app.url("/sandbox")).await;
    assert_eq!(
        kinds.iter().filter(|k| *k == "refresh").count(),
        1,
        "{kinds:?}"
    );
    let lease: Option<String> = sqlx::query_scalar("SELECT refresh_lease_owner FROM connections")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert!(lease.is_none(), "the lease is released");
    app.stop().await;
}

on_both_backends!(writes_go_on_while_a_refresh_waits_on_the_provider);

/// Two calbridge processes share one PostgreSQL database; Calendly's
/// refresh tokens are single use. 40 calls on an expired token, half to
/// each instance: one refresh at the provider, no broken connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_refresh_a_single_use_token_once() {
    let Some(database_url) = postgres_schema_url().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start_sandbox(11).await;
    let secret = "two-instances-secret-0123".to_owned();
    let (port_a, port_b) = (free_port(), free_port());
    sandbox
        .app(
            calbridge::model::Provider::Calendly,
            "chaos",
            &secret,
            &format!("http://127.0.0.1:{port_a}/oauth/calendly/callback"),
        )
        .await;
    let server = |port| Server {
        port,
        dir: dir.path().to_owned(),
        database_url: database_url.clone(),
        sandbox_base: sandbox.base.clone(),
        secret: secret.clone(),
        child: None,
    };
    let (mut a, mut b) = (server(port_a), server(port_b));
    a.start().await;
    b.start().await;

    let client_for = |server: &Server, cookie: Option<&str>| {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::ORIGIN, server.base().parse().unwrap());
        if let Some(cookie) = cookie {
            headers.insert(reqwest::header::COOKIE, cookie.parse().unwrap());
        }
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .build()
            .unwrap()
    };
    let plain = client_for(&a, None);
    let signup = plain
        .post(format!("{}/auth/signup", a.base()))
        .form(&[
            ("tenant_name", "Two"),
            ("name", "Ada"),
            ("email", "ada@two.test"),
            ("password", PASSWORD),
            ("time_zone", "UTC"),
        ])
        .send()
        .await
        .unwrap();
    let cookie = signup.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let on_a = client_for(&a, Some(&cookie));
    let on_b = client_for(&b, Some(&cookie));
    connect_process(&a, &sandbox, &on_a, "alice@sandbox.test").await;
    let list: Vec<Value> = on_b
        .get(format!("{}/api/connections", b.base()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.len(), 1, "both instances see the connection");
    let id = list[0]["id"].as_str().unwrap().to_owned();

    let pool = sqlx::AnyPool::connect(&database_url).await.unwrap();
    sqlx::query("UPDATE connections SET token_expires_at = 0")
        .execute(&pool)
        .await
        .unwrap();
    let calls = (0..40).map(|i| {
        let (client, base) = if i % 2 == 0 {
            (&on_a, a.base())
        } else {
            (&on_b, b.base())
        };
        let url = format!("{base}/settings/calendars/{id}/test");
        async move {
            let resp = client.post(url).send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::SEE_OTHER);
            location(&resp)
        }
    });
    let results = futures::future::join_all(calls).await;
    assert!(
        results
            .iter()
            .all(|l| l == "/settings/calendars?notice=connection_ok"),
        "{results:?}"
    );
    let kinds = token_events_at(&sandbox.base).await;
    assert_eq!(
        kinds.iter().filter(|k| *k == "refresh").count(),
        1,
        "{kinds:?}"
    );
    assert!(!kinds.iter().any(|k| k == "invalid_grant"), "{kinds:?}");
    let state: String = sqlx::query_scalar("SELECT state FROM connections")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(state, "connected");
    pool.close().await;
}
