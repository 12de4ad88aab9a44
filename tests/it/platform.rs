//! Health, readiness, metrics, same-origin checks, start-up configuration
//! errors and the operator commands of the `calbridge` binary.

use crate::common;
use crate::common::Expect;

use common::*;
use reqwest::StatusCode;
use std::process::Command;
use std::time::Duration;

async fn health_ready_and_metrics(backend: Backend) {
    let app = start_app!(backend);
    let client = app.client();
    let health = client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let ready = client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    client.get(app.url("/login")).send().await.unwrap();
    let metrics = client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("http_requests_total"), "{metrics}");
    assert!(metrics.contains("route=\"/login\""), "{metrics}");
    assert!(
        metrics.contains("http_request_duration_seconds_bucket"),
        "{metrics}"
    );
    app.state.db.close().await;
    let down = client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
}

/// Every response carries the security headers; a page's only inline
/// scripts carry the nonce its policy names, fresh on every response.
async fn security_headers_and_a_nonce_per_page(backend: Backend) {
    let app = start_app!(backend, common::connect::sandboxed());
    let client = app.client();
    let nonce_re = regex::Regex::new(r"'nonce-([A-Za-z0-9_-]+)'").unwrap();
    let mut nonces = Vec::new();
    for path in ["/login", "/signup", "/no/such/page"] {
        let resp = client.get(app.url(path)).send().await.unwrap();
        let h = resp.headers().clone();
        let policy = h["content-security-policy"].to_str().unwrap().to_owned();
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        assert!(!policy.contains("'unsafe-inline' 'nonce"), "{policy}");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "same-origin");
        assert!(
            h.get("strict-transport-security").is_none(),
            "plain http here"
        );
        let nonce = nonce_re.captures(&policy).expect("a nonce")[1].to_owned();
        let html = resp.text().await.unwrap();
        let scripts = html.matches("<script").count();
        let with_nonce = html.matches(&format!("nonce=\"{nonce}\"")).count();
        assert!(scripts > 0, "{path} hydrates");
        assert_eq!(
            scripts, with_nonce,
            "{path}: every inline script has the nonce"
        );
        nonces.push(nonce);
    }
    nonces.dedup();
    assert_eq!(nonces.len(), 3, "a fresh nonce per response");
    // Not only pages: JSON, the API, files, errors, webhook answers.
    let webhook = client
        .post(app.url("/webhooks/google"))
        .send()
        .await
        .unwrap();
    let mut others = vec![("POST /webhooks/google".to_owned(), webhook)];
    for path in [
        "/healthz",
        "/readyz",
        "/api/v1/openapi.json",
        "/api/v1/hosts",
        "/sandbox/_control/apps",
        "/pkg/does-not-exist.js",
    ] {
        others.push((
            path.to_owned(),
            client.get(app.url(path)).send().await.unwrap(),
        ));
    }
    for (what, resp) in others {
        let h = resp.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
        assert_eq!(h["referrer-policy"], "same-origin", "{what}");
        assert_eq!(h["x-frame-options"], "DENY", "{what}");
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'"),
            "{what}"
        );
    }
    app.stop().await;
}

/// With `CALBRIDGE_METRICS_TOKEN`, `/metrics` needs it as a bearer token.
async fn metrics_can_require_a_token(backend: Backend) {
    let token = "scrape-token-0123456789";
    let app = start_app!(
        backend,
        Options {
            metrics_token: Some(token.into()),
            ..Options::default()
        }
    );
    let client = app.client();
    let anonymous = client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(!anonymous
        .text()
        .await
        .unwrap()
        .contains("http_requests_total"));
    client
        .get(app.url("/metrics"))
        .bearer_auth("scrape-token-0123456788")
        .expect_status(StatusCode::UNAUTHORIZED)
        .await;
    let right = client
        .get(app.url("/metrics"))
        .bearer_auth(token)
        .expect_status(StatusCode::OK)
        .await;
    assert!(right.text().await.unwrap().contains("http_requests_total"));
    app.stop().await;
}

/// A page elsewhere cannot start an OAuth flow in the user's session (which
/// would link whatever account is logged in at the provider).
async fn connect_cannot_be_started_cross_site(backend: Backend) {
    let app = start_app!(backend, common::connect::sandboxed());
    let ada = app.client();
    sign_up_first(&app, &ada, "ada@example.com").await;
    for site in ["cross-site", "same-site"] {
        let resp = ada
            .get(app.url("/oauth/calendly/start"))
            .header("sec-fetch-site", site)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{site}");
    }
    let states: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM oauth_states")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(states, 0, "no flow was started");
    for site in ["same-origin", "none"] {
        let resp = ada
            .get(app.url("/oauth/calendly/start"))
            .header("sec-fetch-site", site)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_redirection(), "{site}");
        assert!(location(&resp).contains("/sandbox/calendly-auth/oauth/authorize"));
    }
    app.stop().await;
}

async fn cross_origin_writes_are_refused(backend: Backend) {
    let app = start_app!(backend);
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form = [
        ("tenant_name", "Evil"),
        ("name", "Eve"),
        ("email", "eve@example.com"),
        ("password", PASSWORD),
        ("time_zone", "UTC"),
    ];
    plain
        .post(app.url("/auth/signup"))
        .header("Origin", "http://evil.test")
        .form(&form)
        .expect_status(StatusCode::FORBIDDEN)
        .await;
    plain
        .post(app.url("/auth/signup"))
        .form(&form)
        .expect_status(StatusCode::FORBIDDEN)
        .await;
    let via_referer = plain
        .post(app.url("/auth/signup"))
        .header("Referer", app.url("/signup"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        via_referer.status(),
        StatusCode::SEE_OTHER,
        "same-origin Referer is accepted"
    );
    assert_eq!(location(&via_referer), "/meetings?notice=welcome");
    app.stop().await;
}

async fn pages_render_without_javascript(backend: Backend) {
    let app = start_app!(backend);
    let client = app.client();
    let login = client.get(app.url("/login")).send().await.unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let html = login.text().await.unwrap();
    assert!(
        html.contains("<form method=\"post\" action=\"/auth/login\""),
        "{html}"
    );
    assert!(html.contains("/pkg/calbridge.css"));
    let signup = client
        .get(app.url("/signup"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(signup.contains("Create your team"));
    let missing = client.get(app.url("/no/such/page")).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(missing.text().await.unwrap().contains("Page not found"));
    let root = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(location(&root), "/login");
    sign_up_first(&app, &client, "ada@example.com").await;
    let root = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(location(&root), "/meetings");
    let login_again = client.get(app.url("/login")).send().await.unwrap();
    assert_eq!(
        location(&login_again),
        "/meetings",
        "logged-in users skip the login page"
    );
    for page in ["/meetings", "/settings", "/admin/users"] {
        let resp = client.get(app.url(page)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{page}");
    }
    app.stop().await;
}

async fn sandbox_is_mounted_and_announced(backend: Backend) {
    let app = start_app!(
        backend,
        Options {
            sandbox: true,
            ..Options::default()
        }
    );
    let client = app.client();
    let panel = client.get(app.url("/sandbox")).send().await.unwrap();
    assert_eq!(panel.status(), StatusCode::OK);
    assert!(panel.text().await.unwrap().contains("Provider sandbox"));
    let shell: serde_json::Value = client
        .get(app.url("/api/shell"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shell["sandbox_providers"], true);
    let login = client
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(login.contains("Sandbox providers"), "banner on every page");
    app.stop().await;

    let plain = start_app!(backend);
    let client = plain.client();
    assert_eq!(
        client
            .get(plain.url("/sandbox"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    let login = client
        .get(plain.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!login.contains("Sandbox providers"));
    plain.stop().await;
}

on_both_backends!(
    security_headers_and_a_nonce_per_page,
    metrics_can_require_a_token,
    connect_cannot_be_started_cross_site,
    health_ready_and_metrics,
    cross_origin_writes_are_refused,
    pages_render_without_javascript,
    sandbox_is_mounted_and_announced,
);

/// Tests (and any embedder) build several routers in one process. Building
/// one must never leave a page that another is rendering waiting forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_keep_rendering_while_other_routers_are_built() {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    let state = app.state.clone();
    let building = tokio::task::spawn_blocking(move || {
        for _ in 0..300 {
            drop(calbridge::web::router(state.clone()));
        }
    });
    let client = app.client();
    for _ in 0..60 {
        let page = tokio::time::timeout(Duration::from_secs(5), async {
            client.get(app.url("/login")).send().await?.text().await
        })
        .await
        .expect("the page finished rendering")
        .unwrap();
        assert!(page.contains("</html>"));
    }
    building.await.unwrap();
    app.stop().await;
}

fn calbridge(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_calbridge"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CALBRIDGE_DATA_DIR", dir.join("data"))
        .env("CALBRIDGE_DEMO", "0");
    cmd
}

#[test]
fn bad_configuration_fails_with_one_line_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    for (var, value) in [
        ("CALBRIDGE_PUBLIC_URL", "not a url"),
        ("CALBRIDGE_MASTER_KEY", "too-short"),
        ("DATABASE_URL", "mysql://localhost/x"),
        ("LEPTOS_SITE_ADDR", "nowhere"),
    ] {
        let out = calbridge(dir.path())
            .arg("migrate")
            .env(var, value)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{stderr}");
        assert!(lines[0].contains(var), "{stderr}");
        assert!(
            !lines[0].contains("too-short"),
            "secrets are not echoed: {stderr}"
        );
    }
}

#[test]
fn the_sandbox_refuses_to_start_in_production() {
    let dir = tempfile::tempdir().unwrap();
    let key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    for args in [&["serve"][..], &["sandbox"][..]] {
        let out = calbridge(dir.path())
            .args(args)
            .env("CALBRIDGE_ENV", "production")
            .env("CALBRIDGE_MASTER_KEY", key)
            .env("CALBRIDGE_SANDBOX", "1")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} started");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{stderr}");
        assert!(lines[0].contains("CALBRIDGE_SANDBOX"), "{stderr}");
        assert!(lines[0].contains("production"), "{stderr}");
    }
    // The standalone sandbox never listens beyond this machine.
    let out = calbridge(dir.path())
        .args(["sandbox", "--addr", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
    // The standalone command refuses production even without the flag.
    let out = calbridge(dir.path())
        .arg("sandbox")
        .env("CALBRIDGE_ENV", "production")
        .env("CALBRIDGE_MASTER_KEY", key)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("production"));
}

#[test]
fn operator_commands_work_on_a_fresh_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let out = calbridge(dir.path()).arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key_file = dir.path().join("data/master.key");
    assert!(key_file.exists(), "dev master key generated");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let out = calbridge(dir.path())
        .args([
            "create-admin",
            "--email",
            "ops@example.com",
            "--tenant",
            "Ops",
        ])
        .env("CALBRIDGE_ADMIN_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains(PASSWORD));
    let dup = calbridge(dir.path())
        .args([
            "create-admin",
            "--email",
            "ops@example.com",
            "--tenant",
            "Ops",
        ])
        .env("CALBRIDGE_ADMIN_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(!dup.status.success());
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already exists"));
    let out = calbridge(dir.path()).arg("rotate-key").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("new data key"));
}
