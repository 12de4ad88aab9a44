//! The mounted sandbox holds every signing key and client secret and can
//! act as any invitee: its panel and control API answer only this machine
//! or a logged-in admin, its consent screens only this machine or a
//! logged-in person, and cross-site browser writes never. Everyone else
//! gets a 404 and changes nothing. Both backends.

use crate::common;
use crate::common::Expect;

use common::connect::*;
use common::*;
use reqwest::StatusCode;
use serde_json::json;

const REMOTE: &str = "203.0.113.7";

fn behind_proxy() -> Options {
    Options {
        sandbox: true,
        trusted_proxies: Some("127.0.0.1".into()),
        ..Options::default()
    }
}

fn booking() -> serde_json::Value {
    json!({
        "host_email": "alice@sandbox.test",
        "invitee_name": "Eve",
        "invitee_email": "eve@example.com",
        "start_time": "2026-12-14T10:00:00Z",
        "end_time": "2026-12-14T10:30:00Z",
        "event_name": "Intro call",
    })
}

fn bookings(app: &TestApp) -> usize {
    app.state
        .sandbox
        .as_ref()
        .unwrap()
        .world()
        .calendly
        .events
        .len()
}

async fn status(client: &reqwest::Client, url: String) -> StatusCode {
    client.get(url).send().await.unwrap().status()
}

async fn sandbox_operator_parts_answer_only_this_machine_or_an_admin(backend: Backend) {
    let app = start_app!(backend, behind_proxy());
    let consent = format!(
        "{}?client_id=calbridge-calendly&response_type=code&state=s&redirect_uri={}&code_challenge={}&code_challenge_method=S256",
        app.url("/sandbox/calendly-auth/oauth/authorize"),
        app.url("/oauth/calendly/callback"),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    );
    let operator_reads = [
        "/sandbox",
        "/sandbox/_control/apps",
        "/sandbox/_control/deliveries",
        "/sandbox/_control/calendly/subscriptions",
        "/sandbox/_control/truth?account=alice@sandbox.test",
    ];

    // Someone elsewhere, not logged in: nothing is there.
    let stranger = app.client_from(Some(REMOTE));
    for path in operator_reads {
        assert_eq!(
            status(&stranger, app.url(path)).await,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    assert_eq!(
        status(&stranger, consent.clone()).await,
        StatusCode::NOT_FOUND
    );
    stranger
        .post(app.url("/sandbox/_control/calendly/bookings"))
        .json(&booking())
        .expect_status(StatusCode::NOT_FOUND)
        .await;
    stranger
        .post(app.url("/sandbox/_control/faults"))
        .json(&json!({"provider": "calendly", "error_rate": 1.0, "status": 500}))
        .expect_status(StatusCode::NOT_FOUND)
        .await;
    stranger
        .post(app.url("/sandbox/panel/calendly/book"))
        .form(&[
            ("host_email", "alice@sandbox.test"),
            ("invitee_name", "Eve"),
        ])
        .expect_status(StatusCode::NOT_FOUND)
        .await;
    assert_eq!(bookings(&app), 0, "nothing was booked");
    assert!(
        app.state
            .sandbox
            .as_ref()
            .unwrap()
            .world()
            .faults
            .rules
            .is_empty(),
        "no fault was set"
    );
    let body = stranger
        .get(app.url("/sandbox/_control/apps"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!body.contains("client_secret"), "{body}");

    // A logged-in member elsewhere may consent, but not operate.
    let ada = app.client_from(Some(REMOTE));
    sign_up_first(&app, &ada, "ada@example.com").await;
    let bob = join_as_member(&app, &ada, "bob@example.com").await;
    let bob_remote = app.client_from(Some(REMOTE));
    log_in(&app, &bob_remote, "bob@example.com", PASSWORD).await;
    drop(bob);
    assert_eq!(status(&bob_remote, consent.clone()).await, StatusCode::OK);
    for path in operator_reads {
        assert_eq!(
            status(&bob_remote, app.url(path)).await,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }

    // The team's admin, from anywhere, may operate it.
    for path in operator_reads {
        assert_eq!(status(&ada, app.url(path)).await, StatusCode::OK, "{path}");
    }

    // This machine may, without logging in (tests, scripts, `make run`).
    let local = reqwest::Client::new();
    for path in operator_reads {
        assert_eq!(
            status(&local, app.url(path)).await,
            StatusCode::OK,
            "{path}"
        );
    }
    local
        .post(app.url("/sandbox/_control/calendly/bookings"))
        .json(&booking())
        .expect_status(StatusCode::CREATED)
        .await;
    assert_eq!(bookings(&app), 1);

    // A web page elsewhere cannot drive the panel through a local browser.
    local
        .post(app.url("/sandbox/panel/calendly/book"))
        .header("origin", "https://evil.test")
        .form(&[
            ("host_email", "alice@sandbox.test"),
            ("invitee_name", "Eve"),
            ("invitee_email", "eve@example.com"),
            ("start_time", "2026-12-15T10:00"),
        ])
        .expect_status(StatusCode::NOT_FOUND)
        .await;
    assert_eq!(bookings(&app), 1, "the cross-site post booked nothing");
    app.stop().await;
}

/// Without a trusted proxy, `X-Forwarded-For` is just a header: a remote
/// client cannot claim to be this machine, and a local one is local.
async fn forwarded_for_is_ignored_unless_the_proxy_is_trusted(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let claims_local = app.client_from(Some("127.0.0.1"));
    assert_eq!(
        status(&claims_local, app.url("/sandbox/_control/apps")).await,
        StatusCode::OK,
        "the TCP peer is loopback here"
    );
    let claims_remote = app.client_from(Some(REMOTE));
    assert_eq!(
        status(&claims_remote, app.url("/sandbox/_control/apps")).await,
        StatusCode::OK,
        "an untrusted peer's header is ignored"
    );
    app.stop().await;
}

/// DNS rebinding: a page on evil.test whose name now points at 127.0.0.1
/// reaches the sandbox from the loopback peer, with `Host: evil.test`.
/// Only our own names are let in, for reads as for writes.
async fn a_rebound_host_name_reads_nothing(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let port = app.base.rsplit(':').next().unwrap().to_owned();
    let local = reqwest::Client::new();
    let with_host = |host: String| {
        let (local, url) = (&local, app.url("/sandbox/_control/apps"));
        async move {
            local
                .get(url)
                .header(reqwest::header::HOST, host)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    for ours in [format!("127.0.0.1:{port}"), format!("localhost:{port}")] {
        assert_eq!(with_host(ours.clone()).await, StatusCode::OK, "{ours}");
    }
    for foreign in [
        format!("evil.test:{port}"),
        "evil.test".to_owned(),
        format!("localhost.evil.test:{port}"),
    ] {
        assert_eq!(
            with_host(foreign.clone()).await,
            StatusCode::NOT_FOUND,
            "{foreign}"
        );
    }
    let page = local
        .get(app.url("/sandbox"))
        .header(reqwest::header::HOST, format!("evil.test:{port}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !page.contains("client_secret") && !page.contains("Sandbox providers"),
        "{page}"
    );
    local
        .post(app.url("/sandbox/_control/faults"))
        .header(reqwest::header::HOST, format!("evil.test:{port}"))
        .json(&json!({"provider": "calendly", "error_rate": 1.0, "status": 500}))
        .expect_status(StatusCode::NOT_FOUND)
        .await;
    app.stop().await;
}

on_both_backends!(
    a_rebound_host_name_reads_nothing,
    sandbox_operator_parts_answer_only_this_machine_or_an_admin,
    forwarded_for_is_ignored_unless_the_proxy_is_trusted,
);
