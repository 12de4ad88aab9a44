//! Housekeeping through the scheduler: expired sessions and OAuth states,
//! webhook events past retention and orphaned secrets go; everything still
//! in use stays; the admin jobs page shows the run. Both backends.

use crate::common;

use common::connect::*;
use common::*;

async fn count(app: &TestApp, query: &str) -> i64 {
    sqlx::query_scalar(query)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
}

async fn exec(app: &TestApp, statement: &str) {
    sqlx::query(statement)
        .execute(app.state.db.pool())
        .await
        .unwrap();
}

async fn housekeeping_purges_what_expired_and_keeps_the_rest(backend: Backend) {
    let app = start_app!(backend, sandboxed());
    let first = app.client();
    sign_up_first(&app, &first, "ada@example.com").await;
    let ada = app.client();
    log_in(&app, &ada, "ada@example.com", PASSWORD).await;
    // The sign-up session has expired; the login session is current.
    exec(&app, "UPDATE sessions SET expires_at = 1 WHERE created_at = (SELECT MIN(created_at) FROM sessions)").await;

    // Two connect flows left unfinished: one state expired (its PKCE
    // verifier written long ago), one still usable.
    for _ in 0..2 {
        let start = ada
            .get(app.url("/oauth/calendly/start"))
            .send()
            .await
            .unwrap();
        assert!(start.status().is_redirection());
    }
    exec(&app, "UPDATE oauth_states SET expires_at = 1 WHERE created_at = (SELECT MIN(created_at) FROM oauth_states)").await;
    exec(
        &app,
        "UPDATE secrets SET updated_at = 1 WHERE owner_kind = 'oauth_state'",
    )
    .await;
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM secrets WHERE owner_kind = 'oauth_state'"
        )
        .await,
        2
    );

    // Two deliveries to unknown hooks, the first moved past the 30-day
    // retention (its key cleared, so the second is not folded into it).
    let old = chrono::Utc::now().timestamp_millis() - 31 * 24 * 3600 * 1000;
    for path in ["/webhooks/calendly/old", "/webhooks/calendly/new"] {
        sqlx::query("UPDATE webhook_events SET received_at = $1")
            .bind(old)
            .execute(app.state.db.pool())
            .await
            .unwrap();
        let resp = reqwest::Client::new()
            .post(app.url(path))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success());
        sqlx::query("UPDATE webhook_events SET dedupe_key = NULL")
            .execute(app.state.db.pool())
            .await
            .unwrap();
    }
    let events = count(&app, "SELECT COUNT(*) FROM webhook_events").await;
    assert_eq!(events, 2);

    // The scheduler ran housekeeping at start; forget that run so it is due.
    exec(&app, "DELETE FROM housekeeping_runs").await;
    calbridge::server::jobs::scheduler::ensure(&app.state.db, &app.state.jobs)
        .await
        .unwrap();
    app.state.jobs.wake();
    eventually("housekeeping ran", || async {
        count(&app, "SELECT COUNT(*) FROM housekeeping_runs").await == 1
    })
    .await;

    assert_eq!(count(&app, "SELECT COUNT(*) FROM sessions").await, 1);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM oauth_states").await,
        1,
        "the usable state stays"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM secrets WHERE owner_kind = 'oauth_state'"
        )
        .await,
        count(&app, "SELECT COUNT(*) FROM oauth_states").await,
        "only the live state's verifier is left"
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM webhook_events").await,
        events - 1
    );
    assert!(
        shell(&app, &ada).await["user"].is_object(),
        "the current session works"
    );
    assert!(shell(&app, &first).await["user"].is_null());

    let page = ada
        .get(app.url("/admin/jobs"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Housekeeping: last run"), "{page}");
    assert!(page.contains("1 expired session(s)"), "{page}");
    assert!(
        page.contains("1 webhook event(s) older than 30 days"),
        "{page}"
    );
    app.stop().await;
}

on_both_backends!(housekeeping_purges_what_expired_and_keeps_the_rest);
