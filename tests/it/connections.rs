//! The popup connect flow against the sandbox over real HTTP: state bound to
//! the session that started it, PKCE, account lookup, reconnect, one owner
//! per provider account, encrypted tokens and disconnect. Both backends.

use crate::common;
use crate::common::Expect;

use common::connect::*;
use common::*;
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::Row;
use std::time::Duration;

/// Every text and byte value stored in a table.
async fn table_dump(app: &TestApp, table: &str) -> Vec<u8> {
    let rows = sqlx::query(&format!("SELECT * FROM {table}"))
        .fetch_all(app.state.db.pool())
        .await
        .unwrap();
    let mut out = Vec::new();
    for row in rows {
        for i in 0..row.len() {
            if let Ok(Some(t)) = row.try_get::<Option<String>, _>(i) {
                out.extend_from_slice(t.as_bytes());
            } else if let Ok(Some(b)) = row.try_get::<Option<Vec<u8>>, _>(i) {
                out.extend_from_slice(&b);
            }
            out.push(b'\n');
        }
    }
    out
}

async fn connects_each_provider_and_keeps_tokens_secret(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let alice = app.client();
    sign_up_first(&app, &alice, "ada@example.com").await;
    for provider in ["calendly", "google", "microsoft"] {
        let page = connect(&app, &alice, provider, "alice@sandbox.test").await;
        assert_eq!(page.status(), StatusCode::OK, "{provider}");
        let html = page.text().await.unwrap();
        assert!(
            html.contains("calbridge:connected"),
            "{provider}: posts the result to the opener"
        );
        assert!(html.contains("Calendar connected"));
    }
    let list = connections(&app, &alice).await;
    assert_eq!(list.len(), 3);
    for c in &list {
        assert_eq!(c["account_email"], "alice@sandbox.test");
        assert_eq!(c["state"], "connected");
        assert!(c["token_expires_at"].is_string());
    }

    // The sandbox's tokens are nowhere in plaintext: not in any table, not in responses.
    let tokens: Vec<String> = {
        let world = app.state.sandbox.as_ref().unwrap().world();
        world
            .oauth
            .access_tokens
            .keys()
            .chain(world.oauth.refresh_tokens.keys())
            .cloned()
            .collect()
    };
    assert!(tokens.len() >= 5, "access and refresh tokens were issued");
    let mut stored = Vec::new();
    for table in [
        "connections",
        "secrets",
        "oauth_states",
        "users",
        "sessions",
    ] {
        stored.extend(table_dump(&app, table).await);
    }
    let settings = alice
        .get(app.url("/settings/calendars"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let api = serde_json::to_string(&list).unwrap();
    for token in &tokens {
        assert!(
            !stored.windows(token.len()).any(|w| w == token.as_bytes()),
            "token stored in plaintext"
        );
        assert!(
            !settings.contains(token.as_str()) && !api.contains(token.as_str()),
            "token in a response"
        );
    }
    assert!(settings.contains("alice@sandbox.test"));
    app.stop().await;
}

async fn reconnect_updates_and_accounts_have_one_owner(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let admin = app.client();
    sign_up_first(&app, &admin, "ada@example.com").await;
    connect(&app, &admin, "calendly", "alice@sandbox.test").await;
    let first = connections(&app, &admin).await;
    let page = connect(&app, &admin, "calendly", "alice@sandbox.test").await;
    assert_eq!(page.status(), StatusCode::OK);
    let again = connections(&app, &admin).await;
    assert_eq!(
        again.len(),
        1,
        "reconnecting updates the existing connection"
    );
    assert_eq!(again[0]["id"], first[0]["id"]);

    // Another calbridge user cannot link the same Calendly account.
    let bob = join_as_member(&app, &admin, "bob@example.com").await;
    let refused = connect(&app, &bob, "calendly", "alice@sandbox.test").await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains("already connected by another calbridge user"));
    assert!(connections(&app, &bob).await.is_empty());
    assert_eq!(connections(&app, &admin).await.len(), 1);
    // Bob can link his own account.
    assert_eq!(
        connect(&app, &bob, "calendly", "bob@sandbox.test")
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        connections(&app, &bob).await[0]["account_email"],
        "bob@sandbox.test"
    );
    app.stop().await;
}

async fn bad_states_store_nothing(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let ada = app.client();
    sign_up_first(&app, &ada, "ada@example.com").await;
    let eve = join_as_member(&app, &ada, "eve@example.com").await;

    let callback = consent(&app, &ada, "google", "alice@sandbox.test", "allow").await;
    let parsed = url::Url::parse(&callback).unwrap();
    let code = parsed
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();

    // A forged state (seed 000's `state=USER_ID`) and a missing one.
    for forged in [
        app.url(&format!("/oauth/google/callback?code={code}&state=01234")),
        app.url(&format!("/oauth/google/callback?code={code}")),
    ] {
        let resp = ada.get(forged).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert!(resp
            .text()
            .await
            .unwrap()
            .contains("invalid or has expired"));
    }
    // Another user's browser presenting Ada's state and code.
    assert_eq!(
        eve.get(&callback).send().await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    // Another session of the same user (logged in elsewhere).
    let ada_elsewhere = app.client();
    log_in(&app, &ada_elsewhere, "ada@example.com", PASSWORD).await;
    assert_eq!(
        ada_elsewhere.get(&callback).send().await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    // The state was single-use: the attempts above burnt nothing of Ada's, but
    // once Ada uses it, a replay fails.
    assert!(connections(&app, &ada).await.is_empty());
    assert!(connections(&app, &eve).await.is_empty());
    assert_eq!(
        ada.get(&callback).send().await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        ada.get(&callback).send().await.unwrap().status(),
        StatusCode::BAD_REQUEST,
        "reused state"
    );
    assert_eq!(connections(&app, &ada).await.len(), 1);

    // An expired state.
    let late = consent(&app, &ada, "microsoft", "alice@sandbox.test", "allow").await;
    sqlx::query("UPDATE oauth_states SET expires_at = 0 WHERE used_at IS NULL")
        .execute(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(
        ada.get(&late).send().await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(connections(&app, &ada).await.len(), 1);

    // Denied consent shows the provider's reason and stores nothing.
    let denied = consent(&app, &ada, "calendly", "alice@sandbox.test", "deny").await;
    let resp = ada.get(&denied).send().await.unwrap();
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("access_denied") && html.contains("calbridge:error"),
        "{html}"
    );
    assert!(html.contains("error=connect_denied"));
    assert_eq!(connections(&app, &ada).await.len(), 1);

    // Logged out: the callback sends the browser to log in.
    let anonymous = app.client();
    let resp = anonymous
        .get(app.url("/oauth/google/start"))
        .send()
        .await
        .unwrap();
    assert!(location(&resp).starts_with("/login"));
    app.stop().await;
}

/// The kinds of token-endpoint activity the sandbox saw, in order.
async fn token_events(app: &TestApp) -> Vec<String> {
    token_events_at(&app.url("/sandbox")).await
}

async fn refresh_count(app: &TestApp) -> usize {
    token_events(app)
        .await
        .iter()
        .filter(|k| *k == "refresh")
        .count()
}

/// Connects Alice's Calendly and waits for its webhook subscription at the
/// sandbox; returns the connection id.
async fn connect_calendly_with_hook(app: &TestApp, client: &reqwest::Client) -> String {
    let id = connect_calendly(app, client).await;
    let sandbox = app.state.sandbox.as_ref().unwrap();
    eventually("the webhook subscription exists", || async {
        sandbox.world().calendly.subscriptions.len() == 1
    })
    .await;
    id
}

async fn disconnect_revokes_at_the_provider(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let ada = app.client();
    sign_up_first(&app, &ada, "ada@example.com").await;
    let id = connect_calendly_with_hook(&app, &ada).await;
    let sandbox = app.state.sandbox.as_ref().unwrap();
    let hooks = || sandbox.world().calendly.subscriptions.len();
    let access: Vec<String> = sandbox
        .world()
        .oauth
        .access_tokens
        .keys()
        .cloned()
        .collect();
    let sandbox_me = app.url("/sandbox/calendly/users/me");
    let http = reqwest::Client::new();
    let me_status = |token: String| {
        let (http, url) = (http.clone(), sandbox_me.clone());
        async move {
            http.get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(me_status(access[0].clone()).await, StatusCode::OK);

    let resp = post_form(
        &ada,
        &app.url(&format!("/settings/calendars/{id}/disconnect")),
        &[],
    )
    .await;
    assert_eq!(location(&resp), "/settings/calendars?notice=disconnected");
    let after = connections(&app, &ada).await;
    assert_eq!(after[0]["state"], "disconnected", "history is kept");
    eventually("tokens forgotten after the clean-up", || async {
        secrets_of(&app, "connection").await == 0
    })
    .await;
    assert_eq!(
        me_status(access[0].clone()).await,
        StatusCode::UNAUTHORIZED,
        "revoked at the provider"
    );
    assert_eq!(hooks(), 0, "webhook subscription deleted at the provider");
    assert_eq!(
        secrets_of(&app, "subscription").await,
        0,
        "signing key forgotten"
    );
    // Someone else's connection id is not found.
    let other = app.client();
    calbridge::server::accounts::create_admin(
        &app.state.accounts,
        "Globex",
        "hank@globex.test",
        "Hank",
        PASSWORD,
        "UTC",
    )
    .await
    .unwrap();
    log_in(&app, &other, "hank@globex.test", PASSWORD).await;
    let resp = post_form(
        &other,
        &app.url(&format!("/settings/calendars/{id}/disconnect")),
        &[],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    // Reconnecting brings it back.
    assert_eq!(
        connect(&app, &ada, "calendly", "alice@sandbox.test")
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(connections(&app, &ada).await[0]["state"], "connected");
    app.stop().await;
}

async fn concurrent_calls_on_an_expired_calendly_token_refresh_once(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let ada = app.client();
    sign_up_first(&app, &ada, "ada@example.com").await;
    let id = connect_calendly(&app, &ada).await;
    // calbridge now believes the access token has expired.
    expire_tokens(&app).await;

    let calls = (0..50).map(|_| {
        let ada = ada.clone();
        let url = app.url(&format!("/settings/calendars/{id}/test"));
        async move { location(&ada.post(url).send().await.unwrap()) }
    });
    let results = futures::future::join_all(calls).await;
    assert!(
        results
            .iter()
            .all(|l| l == "/settings/calendars?notice=connection_ok"),
        "{results:?}"
    );
    let kinds = token_events(&app).await;
    assert_eq!(
        kinds.iter().filter(|k| **k == "refresh").count(),
        1,
        "exactly one refresh: {kinds:?}"
    );
    assert!(!kinds.iter().any(|k| k == "invalid_grant"), "{kinds:?}");
    let after = connections(&app, &ada).await;
    assert_eq!(after[0]["state"], "connected");
    // The rotated refresh token was stored: a later refresh works too.
    expire_tokens(&app).await;
    let resp = post_form(
        &ada,
        &app.url(&format!("/settings/calendars/{id}/test")),
        &[],
    )
    .await;
    assert_eq!(location(&resp), "/settings/calendars?notice=connection_ok");
    app.stop().await;
}

async fn a_dead_refresh_token_asks_for_reconnect(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let ada = app.client();
    sign_up_first(&app, &ada, "ada@example.com").await;
    let id = connect_calendly(&app, &ada).await;
    for grant in app
        .state
        .sandbox
        .as_ref()
        .unwrap()
        .world()
        .oauth
        .refresh_tokens
        .values_mut()
    {
        grant.revoked = true;
    }
    expire_tokens(&app).await;
    let resp = post_form(
        &ada,
        &app.url(&format!("/settings/calendars/{id}/test")),
        &[],
    )
    .await;
    assert_eq!(
        location(&resp),
        "/settings/calendars?error=connection_broken"
    );
    let after = connections(&app, &ada).await;
    assert_eq!(after[0]["state"], "error");
    assert!(after[0]["last_error"]
        .as_str()
        .unwrap()
        .starts_with("Reconnect needed"));
    // Reconnecting repairs it.
    connect(&app, &ada, "calendly", "alice@sandbox.test").await;
    assert_eq!(connections(&app, &ada).await[0]["state"], "connected");
    app.stop().await;
}

async fn admins_see_and_manage_every_connection_in_their_tenant(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let ada = app.client();
    sign_up_first(&app, &ada, "ada@example.com").await;
    let bob = join_as_member(&app, &ada, "bob@example.com").await;
    connect(&app, &ada, "google", "alice@sandbox.test").await;
    connect(&app, &bob, "calendly", "bob@sandbox.test").await;
    connect(&app, &bob, "microsoft", "bob@sandbox.test").await;

    let all: Vec<Value> = ada
        .get(app.url("/api/tenant_connections"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    assert!(
        all.iter()
            .any(|r| r["user_email"] == "bob@example.com"
                && r["connection"]["provider"] == "calendly")
    );
    let calendly: Vec<Value> = ada
        .get(app.url("/api/tenant_connections?provider=calendly"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(calendly.len(), 1);
    let page = ada
        .get(app.url("/admin/connections?provider=calendly"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("bob@sandbox.test") && !page.contains("alice@sandbox.test"));

    // Members see only their own connections and not this page.
    assert_eq!(connections(&app, &bob).await.len(), 2);
    assert_eq!(
        bob.get(app.url("/admin/connections"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    assert!(!bob
        .get(app.url("/api/tenant_connections"))
        .send()
        .await
        .unwrap()
        .status()
        .is_success());

    // Force refresh goes to the provider once more and keeps the connection healthy.
    let id = calendly[0]["connection"]["id"].as_str().unwrap().to_owned();
    let before = refresh_count(&app).await;
    let resp = post_form(
        &ada,
        &app.url(&format!("/admin/connections/{id}/refresh")),
        &[],
    )
    .await;
    assert_eq!(
        location(&resp),
        "/admin/connections?notice=connection_refreshed"
    );
    assert_eq!(refresh_count(&app).await, before + 1);
    let resp = post_form(
        &bob,
        &app.url(&format!("/settings/calendars/{id}/test")),
        &[],
    )
    .await;
    assert_eq!(
        location(&resp),
        "/settings/calendars?notice=connection_ok",
        "the rotated token works"
    );

    // An admin can disconnect a member's connection.
    let resp = post_form(
        &ada,
        &app.url(&format!("/admin/connections/{id}/disconnect")),
        &[],
    )
    .await;
    assert_eq!(location(&resp), "/admin/connections?notice=disconnected");
    let bobs = connections(&app, &bob).await;
    assert_eq!(
        bobs.iter().find(|c| c["provider"] == "calendly").unwrap()["state"],
        "disconnected"
    );

    // Other tenants: not found.
    calbridge::server::accounts::create_admin(
        &app.state.accounts,
        "Globex",
        "hank@globex.test",
        "Hank",
        PASSWORD,
        "UTC",
    )
    .await
    .unwrap();
    let hank = app.client();
    log_in(&app, &hank, "hank@globex.test", PASSWORD).await;
    let theirs: Vec<Value> = hank
        .get(app.url("/api/tenant_connections"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(theirs.is_empty());
    let google_id = all
        .iter()
        .find(|r| r["connection"]["provider"] == "google")
        .unwrap()["connection"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for action in ["refresh", "disconnect"] {
        let resp = post_form(
            &hank,
            &app.url(&format!("/admin/connections/{google_id}/{action}")),
            &[],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{action}");
    }
    assert_eq!(connections(&app, &ada).await[0]["state"], "connected");
    app.stop().await;
}

async fn disconnect_succeeds_locally_when_the_provider_fails(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let ada = app.client();
    sign_up_first(&app, &ada, "ada@example.com").await;
    let id = connect_calendly_with_hook(&app, &ada).await;
    let sandbox = app.state.sandbox.as_ref().unwrap();
    let hooks = || sandbox.world().calendly.subscriptions.len();
    let access: String = sandbox
        .world()
        .oauth
        .access_tokens
        .keys()
        .next()
        .unwrap()
        .clone();
    for endpoint in ["oauth/revoke", "webhook_subscriptions"] {
        ada
            .post(app.url("/sandbox/_control/faults"))
            .json(&serde_json::json!({"provider": "calendly", "endpoint": endpoint, "error_rate": 1.0, "status": 503}))
            .expect_status(StatusCode::CREATED)
            .await;
    }
    let resp = post_form(
        &ada,
        &app.url(&format!("/settings/calendars/{id}/disconnect")),
        &[],
    )
    .await;
    assert_eq!(location(&resp), "/settings/calendars?notice=disconnected");
    assert_eq!(connections(&app, &ada).await[0]["state"], "disconnected");
    eventually("the failed clean-up is reported", || async {
        connections(&app, &ada).await[0]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("cleaning up at Calendly failed"))
    })
    .await;
    assert_eq!(hooks(), 1, "the provider was down: nothing deleted yet");

    // The provider recovers; the job's retry finishes the clean-up.
    let reset = ada
        .delete(app.url("/sandbox/_control/faults"))
        .send()
        .await
        .unwrap();
    assert!(reset.status().is_success());
    eventually("the retried clean-up finishes", || async {
        secrets_of(&app, "connection").await == 0
    })
    .await;
    assert_eq!(hooks(), 0, "subscription deleted on retry");
    let me = reqwest::Client::new()
        .get(app.url("/sandbox/calendly/users/me"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED, "revoked on retry");
    let after = connections(&app, &ada).await;
    assert_eq!(after[0]["state"], "disconnected");
    assert!(
        after[0]["last_error"].is_null(),
        "{:?}",
        after[0]["last_error"]
    );
    app.stop().await;
}

/// The provider refuses a token calbridge still believes valid (here: the
/// sandbox's clock ran past its two-hour lifetime): one refresh, one retry.
async fn a_401_refreshes_once_and_retries(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let ada = app.client();
    sign_up_first(&app, &ada, "ada@example.com").await;
    let id = connect_calendly(&app, &ada).await;
    eventually("set-up and first import finished", || async {
        let c = &connections(&app, &ada).await[0];
        c["subscription"]["active"] == 1 && c["last_sync_at"].is_string()
    })
    .await;
    let before = refresh_count(&app).await;
    let moved = reqwest::Client::new()
        .post(app.url("/sandbox/_control/clock"))
        .json(&serde_json::json!({ "advance_secs": 3 * 3600 }))
        .send()
        .await
        .unwrap();
    assert!(moved.status().is_success());
    let resp = post_form(
        &ada,
        &app.url(&format!("/settings/calendars/{id}/test")),
        &[],
    )
    .await;
    assert_eq!(location(&resp), "/settings/calendars?notice=connection_ok");
    assert_eq!(refresh_count(&app).await, before + 1, "exactly one refresh");
    assert_eq!(connections(&app, &ada).await[0]["state"], "connected");
    app.stop().await;
}

/// Removing a member disconnects their calendars the normal way before the
/// account goes: afterwards the sandbox holds no live subscription and no
/// usable token for them, the vault holds none of their secrets, and their
/// open live stream has ended.
async fn removing_a_member_cleans_up_at_every_provider(backend: Backend) {
    use calbridge::model::Provider;
    let app = start_app!(backend, sandboxed());
    let ada = app.client();
    sign_up_first(&app, &ada, "ada@example.com").await;
    let bob = join_as_member(&app, &ada, "bob@example.com").await;
    for provider in ["calendly", "google", "microsoft"] {
        connect(&app, &bob, provider, "bob@sandbox.test").await;
    }
    eventually("bob's subscriptions are live", || async {
        let list = connections(&app, &bob).await;
        list.len() == 3 && list.iter().all(|c| c["subscription"]["active"] == 1)
    })
    .await;
    let mut stream = bob.get(app.url("/api/live")).send().await.unwrap();
    stream.chunk().await.unwrap();

    let bob_id = member_id(&app, &ada, "bob@example.com").await;
    let resp = post_form(
        &ada,
        &app.url(&format!("/admin/users/{bob_id}/remove")),
        &[],
    )
    .await;
    assert_eq!(location(&resp), "/admin/users?notice=member_removed");

    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await;
    assert!(ended.is_ok(), "bob's live stream was closed");

    {
        let sandbox = app.state.sandbox.as_ref().unwrap();
        let world = sandbox.world();
        let account = |p| {
            world
                .account_by_email(p, "bob@sandbox.test")
                .unwrap()
                .id
                .clone()
        };
        let now = world.now();
        for provider in [Provider::Calendly, Provider::Google] {
            let id = account(provider.into());
            let usable = world
                .oauth
                .access_tokens
                .values()
                .chain(world.oauth.refresh_tokens.values())
                .filter(|g| g.provider == provider.into() && g.account_id == id)
                .filter(|g| !g.revoked && !g.used && g.expires_at.is_none_or(|e| e > now))
                .count();
            assert_eq!(usable, 0, "{provider:?}: a usable token is left");
        }
        let calendly_user = account(Provider::Calendly.into());
        assert!(!world
            .calendly
            .subscriptions
            .iter()
            .any(|s| s.state == "active" && s.user.as_deref() == Some(calendly_user.as_str())));
        assert!(
            world.microsoft.subscriptions.is_empty(),
            "{:?}",
            world.microsoft.subscriptions.len()
        );
    }
    assert_eq!(active_google_channels(&app).await, 0);
    assert_eq!(secrets_of(&app, "connection").await, 0);
    assert_eq!(secrets_of(&app, "subscription").await, 0);
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM connections")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(left, 0);
    app.stop().await;
}

/// Logging out ends that browser's live stream, and only that one.
async fn logging_out_ends_that_sessions_stream(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let laptop = app.client();
    sign_up_first(&app, &laptop, "ada@example.com").await;
    let phone = app.client();
    log_in(&app, &phone, "ada@example.com", PASSWORD).await;
    let mut laptop_stream = laptop.get(app.url("/api/live")).send().await.unwrap();
    let mut phone_stream = phone.get(app.url("/api/live")).send().await.unwrap();
    laptop_stream.chunk().await.unwrap();
    phone_stream.chunk().await.unwrap();
    let resp = post_form(&laptop, &app.url("/auth/logout"), &[]).await;
    assert_eq!(location(&resp), "/login?notice=logged_out");
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Some(_)) = laptop_stream.chunk().await {}
    })
    .await;
    assert!(ended.is_ok(), "the logged-out stream was closed");
    let quiet = tokio::time::timeout(Duration::from_millis(500), phone_stream.chunk()).await;
    assert!(quiet.is_err(), "the other session's stream stays open");
    app.stop().await;
}

on_both_backends!(
    removing_a_member_cleans_up_at_every_provider,
    logging_out_ends_that_sessions_stream,
    a_401_refreshes_once_and_retries,
    disconnect_succeeds_locally_when_the_provider_fails,
    admins_see_and_manage_every_connection_in_their_tenant,
    concurrent_calls_on_an_expired_calendly_token_refresh_once,
    a_dead_refresh_token_asks_for_reconnect,
    connects_each_provider_and_keeps_tokens_secret,
    reconnect_updates_and_accounts_have_one_owner,
    bad_states_store_nothing,
    disconnect_revokes_at_the_provider,
);
