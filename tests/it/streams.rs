//! Long-lived streams end with the authority that opened them: a sync
//! progress stream at logout and when its admin is made a member (another
//! person's connection is no longer theirs to watch), and a person holds a
//! bounded number of streams open (429 past it, the place given back when
//! one closes). Both backends.

use crate::common;
use crate::common::Expect;

use common::connect::{connect, connections, eventually, member_id, sandboxed};
use common::*;
use reqwest::StatusCode;
use std::time::Duration;

/// A progress stream of `connection` that stays open (it waits for a run
/// that has not started).
async fn progress(app: &TestApp, client: &reqwest::Client, connection: &str) -> reqwest::Response {
    let later = chrono::Utc::now().timestamp_millis() + 3_600_000;
    client
        .get(app.url(&format!(
            "/api/sync/progress?connection={connection}&since={later}"
        )))
        .send()
        .await
        .unwrap()
}

/// Whether `stream` ends within a few seconds.
async fn ends(stream: &mut reqwest::Response) -> bool {
    tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await
    .is_ok()
}

async fn a_progress_stream_ends_with_its_session_and_role(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let ada = app.client();
    sign_up_first(&app, &ada, "ada@example.com").await;
    connect(&app, &ada, "google", "alice@sandbox.test").await;
    eventually("connected", || async {
        !connections(&app, &ada).await.is_empty()
    })
    .await;
    let connection = connections(&app, &ada).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Bob, an admin, watches Ada's connection until he is made a member.
    let bob = join_as_member(&app, &ada, "bob@example.com").await;
    let bob_id = member_id(&app, &ada, "bob@example.com").await;
    let promote = |role: &'static str| {
        let (app, ada, bob_id) = (&app, &ada, bob_id.clone());
        async move {
            post_form(
                ada,
                &app.url(&format!("/admin/users/{bob_id}/role")),
                &[("role", role)],
            )
            .await
        }
    };
    promote("admin").await;
    let mut bobs = progress(&app, &bob, &connection).await;
    assert_eq!(bobs.status(), StatusCode::OK);
    bobs.chunk().await.unwrap();
    let still = tokio::time::timeout(Duration::from_millis(800), bobs.chunk()).await;
    assert!(
        still.is_err(),
        "the stream stays open while nothing changes"
    );
    promote("member").await;
    assert!(ends(&mut bobs).await, "a demoted admin's stream ends");

    // Ada's own stream ends when she logs out.
    let mut adas = progress(&app, &ada, &connection).await;
    assert_eq!(adas.status(), StatusCode::OK);
    adas.chunk().await.unwrap();
    let resp = post_form(&ada, &app.url("/auth/logout"), &[]).await;
    assert_eq!(location(&resp), "/login?notice=logged_out");
    assert!(ends(&mut adas).await, "the logged-out stream ends");
    app.stop().await;
}

async fn a_person_holds_a_bounded_number_of_streams(backend: Backend) {
    let app = start_app!(backend);
    let ada = app.client();
    sign_up_first(&app, &ada, "ada@example.com").await;
    let max = calbridge::server::platform::live::MAX_STREAMS_PER_USER;
    let mut open = Vec::new();
    for n in 0..max {
        let mut stream = ada.get(app.url("/api/live")).send().await.unwrap();
        assert_eq!(stream.status(), StatusCode::OK, "stream {n}");
        stream.chunk().await.unwrap();
        open.push(stream);
    }
    let refused = ada.get(app.url("/api/live")).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    // The admin overview's stream counts too.
    ada.get(app.url("/api/admin/overview/live"))
        .expect_status(StatusCode::TOO_MANY_REQUESTS)
        .await;
    // Another person is not held back by Ada's streams.
    let bob = join_as_member(&app, &ada, "bob@example.com").await;
    let bobs = bob.get(app.url("/api/live")).send().await.unwrap();
    assert_eq!(bobs.status(), StatusCode::OK);
    // A stream that closes gives its place back.
    drop(open.pop());
    eventually("a closed stream's place is free again", || async {
        ada.get(app.url("/api/live")).send().await.unwrap().status() == StatusCode::OK
    })
    .await;
    app.stop().await;
}

on_both_backends!(
    a_progress_stream_ends_with_its_session_and_role,
    a_person_holds_a_bounded_number_of_streams
);
