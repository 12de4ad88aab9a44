//! OAuth app credentials on `/admin/apps`: instance defaults registered with
//! the sandbox, tenant overrides with encrypted, masked secrets, and the Test
//! action checked against the sandbox's real token endpoints. Both backends.

use crate::common;

use calbridge::model::Provider;
use calbridge::sandbox::App;
use common::*;
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::Row;

fn sandboxed() -> Options {
    Options {
        sandbox: true,
        ..Options::default()
    }
}

async fn apps(app: &TestApp, client: &reqwest::Client) -> Vec<Value> {
    client
        .get(app.url("/api/oauth_apps"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn row<'a>(apps: &'a [Value], provider: &str) -> &'a Value {
    apps.iter()
        .find(|a| a["provider"] == provider)
        .expect("a row per provider")
}

fn register(app: &TestApp, provider: Provider, client_id: &str, secret: &str) {
    app.state
        .sandbox
        .as_ref()
        .expect("sandbox on")
        .register_app(App {
            provider: provider.into(),
            client_id: client_id.into(),
            client_secret: secret.into(),
            redirect_uris: vec![app.state.config.redirect_uri(provider)],
        });
}

async fn instance_defaults_are_registered_with_the_sandbox(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let admin = app.client();
    sign_up_first(&app, &admin, "ada@example.com").await;
    let list = apps(&app, &admin).await;
    assert_eq!(list.len(), 3);
    for provider in ["calendly", "google", "microsoft"] {
        let r = row(&list, provider);
        assert_eq!(r["source"], "instance");
        assert_eq!(r["client_id"], format!("calbridge-{provider}"));
        assert_eq!(r["client_secret"], "***");
        assert_eq!(
            r["redirect_uri"],
            app.url(&format!("/oauth/{provider}/callback"))
        );
        let resp = post_form(
            &admin,
            &app.url(&format!("/admin/apps/{provider}/test")),
            &[],
        )
        .await;
        assert_eq!(
            location(&resp),
            format!("/admin/apps?notice=app_check_ok#{provider}"),
            "{provider}"
        );
    }
    let html = admin
        .get(app.url("/admin/apps"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for secret in app
        .state
        .apps
        .instance_apps
        .iter()
        .map(|a| a.client_secret.clone())
    {
        assert!(
            !html.contains(&secret),
            "instance secrets never reach a page"
        );
    }
    app.stop().await;
}

async fn tenant_app_lifecycle(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let admin = app.client();
    sign_up_first(&app, &admin, "ada@example.com").await;
    const SECRET: &str = "acme-google-secret-value-0001";
    register(&app, Provider::Google, "acme-google", SECRET);

    let resp = post_form(
        &admin,
        &app.url("/admin/apps"),
        &[
            ("provider", "google"),
            ("name", "Acme Google"),
            ("client_id", "acme-google"),
            ("client_secret", SECRET),
        ],
    )
    .await;
    assert_eq!(location(&resp), "/admin/apps?notice=app_saved#google");
    let list = apps(&app, &admin).await;
    let google = row(&list, "google");
    assert_eq!(google["source"], "tenant");
    assert_eq!(google["state"], "configured");
    assert_eq!(google["client_secret"], "***");
    assert_eq!(
        row(&list, "calendly")["source"],
        "instance",
        "other providers keep the default"
    );

    // The secret is encrypted at rest and appears in no response.
    let pool = app.state.db.pool();
    let stored = sqlx::query("SELECT ciphertext FROM secrets WHERE owner_kind = 'oauth_app'")
        .fetch_all(pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    let ct: Vec<u8> = stored[0].get("ciphertext");
    assert!(!ct.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()));
    let html = admin
        .get(app.url("/admin/apps"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Acme Google"));
    assert!(!html.contains(SECRET));
    assert!(!serde_json::to_string(&list).unwrap().contains(SECRET));

    // Test: the sandbox's token endpoint accepts the client.
    let resp = post_form(&admin, &app.url("/admin/apps/google/test"), &[]).await;
    assert_eq!(location(&resp), "/admin/apps?notice=app_check_ok#google");
    assert_eq!(
        row(&apps(&app, &admin).await, "google")["state"],
        "connected"
    );

    // Renaming without retyping the secret keeps it (and the check result).
    let resp = post_form(
        &admin,
        &app.url("/admin/apps"),
        &[
            ("provider", "google"),
            ("name", "Acme Google (prod)"),
            ("client_id", "acme-google"),
            ("client_secret", ""),
        ],
    )
    .await;
    assert_eq!(location(&resp), "/admin/apps?notice=app_saved#google");
    let google = row(&apps(&app, &admin).await, "google").clone();
    assert_eq!(google["name"], "Acme Google (prod)");
    assert_eq!(google["state"], "connected");
    let resp = post_form(&admin, &app.url("/admin/apps/google/test"), &[]).await;
    assert_eq!(
        location(&resp),
        "/admin/apps?notice=app_check_ok#google",
        "the old secret was kept"
    );

    // A wrong secret: the provider's own words end up on the page.
    post_form(
        &admin,
        &app.url("/admin/apps"),
        &[
            ("provider", "google"),
            ("name", "Acme Google (prod)"),
            ("client_id", "acme-google"),
            ("client_secret", "wrong"),
        ],
    )
    .await;
    assert_eq!(
        row(&apps(&app, &admin).await, "google")["state"],
        "configured",
        "new credentials are untested"
    );
    let resp = post_form(&admin, &app.url("/admin/apps/google/test"), &[]).await;
    assert_eq!(location(&resp), "/admin/apps?error=app_check_failed#google");
    let google = row(&apps(&app, &admin).await, "google").clone();
    assert_eq!(google["state"], "error");
    let error = google["last_error"].as_str().unwrap();
    assert!(
        error.contains("invalid_client") && error.contains("Client authentication failed."),
        "{error}"
    );
    assert!(!error.contains("wrong"), "the secret is not echoed");

    // Removing the override brings the instance default back.
    let resp = post_form(&admin, &app.url("/admin/apps/google/delete"), &[]).await;
    assert_eq!(location(&resp), "/admin/apps?notice=app_deleted");
    assert_eq!(
        row(&apps(&app, &admin).await, "google")["source"],
        "instance"
    );
    let left: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM secrets WHERE owner_kind = 'oauth_app'")
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(left, 0);
    app.stop().await;
}

async fn calendly_check_uses_http_basic(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let admin = app.client();
    sign_up_first(&app, &admin, "ada@example.com").await;
    register(
        &app,
        Provider::Calendly,
        "acme-calendly",
        "calendly-secret-1",
    );
    post_form(
        &admin,
        &app.url("/admin/apps"),
        &[
            ("provider", "calendly"),
            ("name", "Acme"),
            ("client_id", "acme-calendly"),
            ("client_secret", "calendly-secret-1"),
        ],
    )
    .await;
    let resp = post_form(&admin, &app.url("/admin/apps/calendly/test"), &[]).await;
    assert_eq!(location(&resp), "/admin/apps?notice=app_check_ok#calendly");
    let events: Value = admin
        .get(app.url("/sandbox/_control/oauth/events"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["client_id"] == "acme-calendly" && e["kind"] == "invalid_grant"),
        "the client authenticated and only the bogus code was refused: {events}"
    );
    app.stop().await;
}

async fn bad_input_changes_nothing(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let admin = app.client();
    sign_up_first(&app, &admin, "ada@example.com").await;
    let long = "x".repeat(101);
    for (fields, code) in [
        (
            vec![
                ("provider", "google"),
                ("name", ""),
                ("client_id", "id"),
                ("client_secret", "s"),
            ],
            "invalid_app_name",
        ),
        (
            vec![
                ("provider", "google"),
                ("name", long.as_str()),
                ("client_id", "id"),
                ("client_secret", "s"),
            ],
            "invalid_app_name",
        ),
        (
            vec![
                ("provider", "google"),
                ("name", "Ok"),
                ("client_id", " "),
                ("client_secret", "s"),
            ],
            "invalid_client_id",
        ),
        (
            vec![
                ("provider", "google"),
                ("name", "Ok"),
                ("client_id", "id"),
                ("client_secret", ""),
            ],
            "secret_required",
        ),
    ] {
        let resp = post_form(&admin, &app.url("/admin/apps"), &fields).await;
        assert_eq!(location(&resp), format!("/admin/apps?error={code}"));
    }
    let resp = post_form(
        &admin,
        &app.url("/admin/apps"),
        &[("provider", "yahoo"), ("name", "x"), ("client_id", "x")],
    )
    .await;
    assert!(resp.status().is_client_error(), "unknown provider is a 4xx");
    let resp = post_form(&admin, &app.url("/admin/apps/yahoo/test"), &[]).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = post_form(&admin, &app.url("/admin/apps/google/delete"), &[]).await;
    assert_eq!(
        resp.status(),
        StatusCode::NOT_FOUND,
        "no override to delete"
    );
    assert!(apps(&app, &admin)
        .await
        .iter()
        .all(|a| a["source"] == "instance"));
    app.stop().await;
}

async fn apps_are_per_tenant_and_admin_only(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let admin = app.client();
    sign_up_first(&app, &admin, "ada@example.com").await;
    post_form(
        &admin,
        &app.url("/admin/apps"),
        &[
            ("provider", "microsoft"),
            ("name", "Acme MS"),
            ("client_id", "acme-ms"),
            ("client_secret", "ms-secret"),
        ],
    )
    .await;
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
    let other = app.client();
    log_in(&app, &other, "hank@globex.test", PASSWORD).await;
    assert_eq!(
        row(&apps(&app, &other).await, "microsoft")["source"],
        "instance",
        "tenant 2 does not see tenant 1's app"
    );
    let resp = post_form(&other, &app.url("/admin/apps/microsoft/delete"), &[]).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        row(&apps(&app, &admin).await, "microsoft")["source"],
        "tenant"
    );

    let member = join_as_member(&app, &admin, "bob@example.com").await;
    assert_eq!(
        member
            .get(app.url("/admin/apps"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    assert!(!member
        .get(app.url("/api/oauth_apps"))
        .send()
        .await
        .unwrap()
        .status()
        .is_success());
    let resp = post_form(&member, &app.url("/admin/apps/microsoft/test"), &[]).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    app.stop().await;
}

on_both_backends!(
    instance_defaults_are_registered_with_the_sandbox,
    tenant_app_lifecycle,
    calendly_check_uses_http_basic,
    bad_input_changes_nothing,
    apps_are_per_tenant_and_admin_only,
);
