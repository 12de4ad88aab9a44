//! The demo tenant's hosts for the booking tests: seeded, found, and times
//! on the Monday at least a week ahead (always bookable, never past).

use super::{TestApp, PASSWORD};
use calbridge::model::ApiScope;
use calbridge::server::accounts;
use calbridge::server::api_keys;
use calbridge::server::booking::availability;
use calbridge::server::booking::profiles;
use calbridge::server::platform::db::booking_profiles::Profile;
use calbridge::server::platform::db::TenantScope;
use chrono::{Datelike, Duration, NaiveDate, Utc, Weekday};
use reqwest::StatusCode;
use serde_json::Value;

pub async fn seed_demo(app: &TestApp) {
    accounts::seed_demo(&app.state.accounts, Some(PASSWORD))
        .await
        .unwrap();
}

pub async fn host(pool: &sqlx::AnyPool, slug: &str) -> Profile {
    profiles::host_by_slug(pool, slug).await.unwrap().unwrap()
}

/// The Monday at least a week from now.
pub fn next_monday() -> NaiveDate {
    let mut day = Utc::now().date_naive() + Duration::days(7);
    while day.weekday() != Weekday::Mon {
        day = day.succ_opt().unwrap();
    }
    day
}

/// Alice's demo intro at `hh:mm` Berlin time on [`next_monday`].
pub fn alice_at(hour: u16, minute: u16) -> i64 {
    availability::instant(chrono_tz::Europe::Berlin, next_monday(), hour * 60 + minute)
}

/// The demo tenant (alice's).
pub async fn demo_tenant(app: &TestApp) -> TenantScope {
    host(app.state.db.pool(), "alice").await.owner.tenant
}

/// A new API key of `tenant` with `scopes`.
pub async fn key_for(app: &TestApp, tenant: &TenantScope, scopes: &[ApiScope]) -> String {
    let new = api_keys::NewKey {
        name: "test",
        scopes,
        rate_limit_per_minute: None,
    };
    api_keys::create(
        &app.state.api_keys,
        tenant,
        None,
        calbridge::server::audit::Actor::Operator,
        &new,
        false,
    )
    .await
    .unwrap()
    .1
}

/// A client that sends `key` as its bearer token.
pub fn api(key: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {key}").parse().unwrap(),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}

pub async fn json_of(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    (status, resp.json().await.unwrap())
}

/// The booking id and the manage token in a manage link
/// (`/booking/{id}?token=…&notice=…`).
pub fn manage_parts(link: &str) -> (String, String) {
    let id = link
        .trim_start_matches("/booking/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let token = link
        .split("token=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .unwrap()
        .to_owned();
    (id, token)
}
