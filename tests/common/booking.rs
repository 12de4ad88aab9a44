//! The demo tenant's hosts for the booking tests: seeded, found, and times
//! on the Monday at least a week ahead (always bookable, never past).

use super::{TestApp, PASSWORD};
use calbridge::server::accounts;
use calbridge::server::booking::availability;
use calbridge::server::booking::profiles;
use calbridge::server::platform::db::booking::Profile;
use chrono::{Datelike, Duration, NaiveDate, Utc, Weekday};

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
