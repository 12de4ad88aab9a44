//! `calbridge sandbox` on its own, driven with plain HTTP: no database, the
//! same paths as when mounted, and `--deliver-to` redirecting webhooks.

use crate::common;

use common::sandbox::{location, query_param, start_receiver};
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_sandbox_speaks_http_and_delivers_to_the_given_origin() {
    let receiver = start_receiver().await;
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_calbridge"))
        .args([
            "sandbox",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--deliver-to",
            &receiver.base,
            "--seed",
            "7",
            "--app",
            "calendly,cid,csecret,https://app.example.com/oauth/calendly/callback",
        ])
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .env("CALBRIDGE_DATA_DIR", dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let _running = Running(child);
    let base = format!("http://127.0.0.1:{port}/sandbox");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(20);
    let panel = loop {
        match http.get(&base).send().await {
            Ok(r) => break r,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("sandbox did not start: {e}"),
        }
    };
    assert_eq!(panel.status(), 200);
    assert!(panel.text().await.unwrap().contains("Provider sandbox"));
    assert!(
        !dir.path().join("calbridge.db").exists(),
        "the sandbox needs no database"
    );

    // Seeded accounts and the app given on the command line exist; connect Alice's Calendly.
    let accounts: Vec<Value> = http
        .get(format!("{base}/_control/accounts?provider=calendly"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(accounts.iter().any(|a| a["email"] == "alice@sandbox.test"));
    let redirect_uri = "https://app.example.com/oauth/calendly/callback";
    let apps: Vec<Value> = http
        .get(format!("{base}/_control/apps"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(apps.len(), 1);
    assert_eq!(apps[0]["redirect_uris"][0], redirect_uri);
    let consent = http
        .post(format!("{base}/calendly-auth/oauth/authorize"))
        .form(&[
            ("client_id", "cid"),
            ("redirect_uri", redirect_uri),
            ("response_type", "code"),
            ("state", "s1"),
            ("account", "alice@sandbox.test"),
            ("decision", "allow"),
        ])
        .send()
        .await
        .unwrap();
    let target = location(&consent);
    assert!(target.starts_with(redirect_uri), "{target}");
    assert_eq!(query_param(&target, "state").as_deref(), Some("s1"));
    let code = query_param(&target, "code").unwrap();
    let token: Value = http
        .post(format!("{base}/calendly-auth/oauth/token"))
        .basic_auth("cid", Some("csecret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", redirect_uri),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = token["access_token"].as_str().unwrap().to_owned();
    let me: Value = http
        .get(format!("{base}/calendly/users/me"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["resource"]["email"], "alice@sandbox.test");
    let user_uri = me["resource"]["uri"].as_str().unwrap().to_owned();
    assert_eq!(token["owner"], user_uri);

    // The subscription names a host that does not exist; --deliver-to sends it to our receiver.
    let sub = http
        .post(format!("{base}/calendly/webhook_subscriptions"))
        .bearer_auth(&access)
        .json(&json!({
            "url": "https://calbridge.invalid/webhooks/calendly/conn-1",
            "events": ["invitee.created", "invitee.canceled"],
            "organization": me["resource"]["current_organization"],
            "user": user_uri,
            "scope": "user",
            "signing_key": "standalone-key",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(sub.status(), 201, "{}", sub.text().await.unwrap());
    let booked = http
        .post(format!("{base}/_control/calendly/bookings"))
        .json(&json!({
            "host_email": "alice@sandbox.test",
            "invitee_name": "Ivy",
            "invitee_email": "ivy@example.com",
            "start_time": "2030-01-07T10:00:00Z",
            "end_time": "2030-01-07T10:30:00Z",
            "event_name": "Intro call",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(booked.status(), 201);
    let got = receiver
        .wait_for(
            1,
            |r| r.path == "/webhooks/calendly/conn-1",
            Duration::from_secs(10),
        )
        .await;
    assert_eq!(got.len(), 1, "delivered to the --deliver-to origin");
    let body: Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(body["event"], "invitee.created");
    assert_eq!(body["payload"]["email"], "ivy@example.com");
    assert!(got[0].headers.contains_key("calendly-webhook-signature"));
}
