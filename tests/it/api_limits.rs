//! An API key's request limit over real HTTP — the `RateLimit-*` headers on
//! every answer, 429 with `Retry-After` past it, a typed `rate_limited`
//! error in REST, the agent tools and MCP, one key's use not spending
//! another's, the limit shared by two instances on one PostgreSQL — and the
//! served OpenAPI document, checked for what a generated client and a
//! fuzzer rely on (and by `openapi-spec-validator` where it is installed;
//! under CI=true it must be).

use crate::common;
use crate::common::Expect;

use calbridge::model::ApiScope;
use calbridge::server::api_keys;
use common::booking::{api, demo_tenant, json_of, key_for, seed_demo};
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A key of the demo tenant allowed `per_minute` requests.
async fn limited_key(app: &TestApp, per_minute: i64) -> String {
    let new = api_keys::NewKey {
        name: "limited",
        scopes: &ApiScope::ALL,
        rate_limit_per_minute: Some(per_minute),
    };
    api_keys::create(
        &app.state.api_keys,
        &demo_tenant(app).await,
        None,
        calbridge::server::audit::Actor::Operator,
        &new,
        false,
    )
    .await
    .unwrap()
    .1
}

/// Waits, if need be, until the current minute has at least 20 s left,
/// so a handful of requests fall in one window.
async fn early_in_a_minute(app: &TestApp) {
    let into = app.state.clock.now_ms().rem_euclid(60_000);
    if into > 40_000 {
        tokio::time::sleep(std::time::Duration::from_millis((60_050 - into) as u64)).await;
    }
}

fn header(resp: &reqwest::Response, name: &str) -> i64 {
    resp.headers()[name].to_str().unwrap().parse().unwrap()
}

async fn a_key_is_held_to_its_limit_everywhere(backend: Backend) {
    let app = start_app!(backend);
    seed_demo(&app).await;
    let key = limited_key(&app, 3).await;
    let other = api(&key_for(&app, &demo_tenant(&app).await, &ApiScope::ALL).await);
    let client = api(&key);
    early_in_a_minute(&app).await;
    for remaining in [2, 1, 0] {
        let resp = client.get(app.url("/api/v1/hosts")).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(header(&resp, "ratelimit-limit"), 3);
        assert_eq!(header(&resp, "ratelimit-remaining"), remaining);
        assert!((1..=60).contains(&header(&resp, "ratelimit-reset")));
    }
    // REST: 429, when to retry, the typed error.
    let resp = client.get(app.url("/api/v1/hosts")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry = header(&resp, "retry-after");
    assert!((1..=60).contains(&retry));
    assert_eq!(header(&resp, "ratelimit-remaining"), 0);
    let (_, body) = json_of(resp).await;
    assert_eq!(body["error"], "rate_limited");
    assert!(body["retry_after_secs"]
        .as_i64()
        .is_some_and(|s| (1..=60).contains(&s)));
    // The agent tools, the same.
    let resp = client
        .post(app.url("/api/v1/agent/tools/list_hosts"))
        .json(&json!({}))
        .expect_status(StatusCode::TOO_MANY_REQUESTS)
        .await;
    let (_, body) = json_of(resp).await;
    assert_eq!(body["error"], "rate_limited");
    // MCP: a JSON-RPC error answering the request's id, the typed error as
    // its data.
    let resp = client
        .post(app.url("/mcp"))
        .header("accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list"}))
        .expect_status(StatusCode::TOO_MANY_REQUESTS)
        .await;
    assert!(resp.headers().contains_key("retry-after"));
    let (_, body) = json_of(resp).await;
    assert_eq!(body["id"], 7);
    assert_eq!(body["error"]["data"]["error"], "rate_limited");
    assert!(body["error"]["data"]["retry_after_secs"].as_i64().is_some());
    // Another key of the team is not held back by this one, and a key
    // without a limit of its own has the default.
    let resp = other.get(app.url("/api/v1/hosts")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        header(&resp, "ratelimit-limit"),
        api_keys::DEFAULT_RATE_LIMIT_PER_MINUTE
    );
    // What was refused is counted for the admins.
    let refused: i64 = sqlx::query_scalar(
        "SELECT CAST(SUM(refused) AS BIGINT) FROM rate_limits WHERE limit_name = 'api_key_minute'",
    )
    .fetch_one(app.state.db.pool())
    .await
    .unwrap();
    assert_eq!(refused, 3);
    app.stop().await;
}

async fn an_admin_sets_a_keys_limit(backend: Backend) {
    let app = start_app!(backend);
    seed_demo(&app).await;
    let admin = app.client();
    log_in(&app, &admin, "admin@demo.test", PASSWORD).await;
    for bad in ["0", "1000001", "many"] {
        let resp = post_form(
            &admin,
            &app.url("/admin/api-keys"),
            &[
                ("name", "Agent"),
                ("scope_availability_read", "on"),
                ("rate_limit", bad),
            ],
        )
        .await;
        assert_eq!(
            location(&resp),
            "/admin/api-keys?error=invalid_rate_limit",
            "{bad}"
        );
    }
    let (page, key) = key_from_page(
        &app,
        &admin,
        &[
            ("name", "Agent"),
            ("scope_availability_read", "on"),
            ("rate_limit", "30"),
        ],
    )
    .await;
    assert!(page.contains("data-label=\"Per minute\">30<"), "{page}");
    let resp = api(&key)
        .get(app.url("/api/v1/hosts"))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&resp, "ratelimit-limit"), 30);
    app.stop().await;
}

on_both_backends!(
    a_key_is_held_to_its_limit_everywhere,
    an_admin_sets_a_keys_limit
);

/// Two instances on one PostgreSQL database count one key's requests
/// together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limit_holds_across_instances() {
    let Some(a) = TestApp::start_with(Backend::Postgres, Options::default()).await else {
        return;
    };
    let b = TestApp::start_with(
        Backend::Postgres,
        Options {
            workers: false,
            database_url: Some(a.database_url.clone()),
            data_dir: Some(a.dir.path().to_owned()),
            ..Options::default()
        },
    )
    .await
    .unwrap();
    seed_demo(&a).await;
    let key = limited_key(&a, 4).await;
    let client = api(&key);
    early_in_a_minute(&a).await;
    let mut statuses = Vec::new();
    for app in [&a, &b, &a, &b, &a, &b] {
        statuses.push(
            client
                .get(app.url("/api/v1/hosts"))
                .send()
                .await
                .unwrap()
                .status(),
        );
    }
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    b.stop().await;
    a.stop().await;
}

/// Every `{name}` of a path template is a path parameter and the other way
/// round; query structs are in the query.
fn check_parameters(path: &str, method: &str, operation: &Value) {
    let in_template: Vec<&str> = path
        .split('{')
        .skip(1)
        .filter_map(|rest| rest.split('}').next())
        .collect();
    let parameters = operation["parameters"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let in_path: Vec<&str> = parameters
        .iter()
        .filter(|p| p["in"] == "path")
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(in_path, in_template, "{method} {path}: path parameters");
    for p in &parameters {
        assert!(
            ["path", "query", "header"].contains(&p["in"].as_str().unwrap_or_default()),
            "{method} {path}: {p}"
        );
        if p["in"] == "path" {
            assert_eq!(p["required"], true, "{method} {path}: {p}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_is_valid_and_says_every_answer() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else {
        return;
    };
    let (status, spec) =
        json_of(reqwest::get(app.url("/api/v1/openapi.json")).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let paths = spec["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            check_parameters(path, method, operation);
            assert_eq!(
                operation["security"],
                json!([{"api_key": []}]),
                "{method} {path}"
            );
            let responses = operation["responses"].as_object().unwrap();
            for status in ["401", "403", "422", "429"] {
                assert!(responses.contains_key(status), "{method} {path}: {status}");
            }
            assert!(
                responses["429"]["headers"]["Retry-After"].is_object(),
                "{method} {path}"
            );
            let success = responses
                .iter()
                .find(|(status, _)| status.starts_with('2'))
                .unwrap()
                .1;
            for name in ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"] {
                assert!(
                    success["headers"][name].is_object(),
                    "{method} {path}: {name}"
                );
            }
        }
    }
    assert!(operations >= 12, "{operations}");
    let query_names = |path: &str| -> Vec<String> {
        spec["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in"] == "query")
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        query_names("/api/v1/availability"),
        ["host", "event_type", "start", "end", "time_zone"]
    );
    assert_eq!(
        query_names("/api/v1/appointments"),
        ["host", "start", "end"]
    );

    // An independent validator of the OpenAPI specification itself.
    let file = app.dir.path().join("openapi.json");
    std::fs::write(&file, spec.to_string()).unwrap();
    match std::process::Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(&file)
        .output()
    {
        Ok(out) if out.status.success() => {}
        Ok(out) if String::from_utf8_lossy(&out.stderr).contains("No module named") => {
            let message =
                "openapi-spec-validator is not installed (scripts/setup.sh --test installs it)";
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "{message}"
            );
            eprintln!("!!!!!!!! {message}: the document was not validated by it");
        }
        Ok(out) => panic!(
            "openapi-spec-validator refuses the document:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!("python3: {e}"),
    }
    app.stop().await;
}
