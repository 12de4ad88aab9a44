//! Reading meetings for the `/meetings` page, grouped by day in the
//! viewer's time zone.

use super::{Meetings, HORIZON_MS};
use crate::model::{paths, MeetingDay, MeetingView, MeetingsPage};
use crate::server::auth::Caller;
use crate::server::error::AppResult;
use crate::server::platform::db::connections as connections_repo;
use crate::server::platform::db::meetings::{self as repo, MeetingRow};
use crate::server::platform::db::{self, DbError};
use crate::server::providers;
use chrono::{TimeZone, Utc};

/// One meeting for the page. Links are checked again here, so rows stored
/// before links were checked at import never render as an unsafe `href`.
fn view(
    row: MeetingRow,
    tz: chrono_tz::Tz,
    local_origin: Option<&str>,
) -> Result<MeetingView, DbError> {
    let link = |l: Option<String>| l.and_then(|l| providers::safe_link(&l, local_origin));
    let local = |ms: i64| {
        Utc.timestamp_millis_opt(ms)
            .single()
            .map(|t| t.with_timezone(&tz).format("%H:%M").to_string())
            .unwrap_or_default()
    };
    let edit_url = (row.kind == "appointment").then(|| paths::APPOINTMENT.to(&row.id));
    Ok(MeetingView {
        edit_url,
        id: row.id()?,
        source: row.source()?,
        status: row.status()?,
        local_start: local(row.starts_at),
        local_end: local(row.ends_at),
        starts_at: db::ms_to_rfc3339(row.starts_at),
        ends_at: db::ms_to_rfc3339(row.ends_at),
        title: row.title,
        invitee_name: row.invitee_name,
        invitee_email: row.invitee_email,
        location: row.location,
        join_url: link(row.join_url),
        reschedule_url: link(row.reschedule_url),
        cancel_url: link(row.cancel_url),
    })
}

/// Groups rows (already in order) by day in `tz`.
fn group_by_day(
    rows: Vec<MeetingRow>,
    tz: chrono_tz::Tz,
    local_origin: Option<&str>,
) -> Result<Vec<MeetingDay>, DbError> {
    let mut days: Vec<MeetingDay> = Vec::new();
    for row in rows {
        let start = Utc
            .timestamp_millis_opt(row.starts_at)
            .single()
            .unwrap_or_default()
            .with_timezone(&tz);
        let date = start.format("%Y-%m-%d").to_string();
        let meeting = view(row, tz, local_origin)?;
        match days.last_mut() {
            Some(day) if day.date == date => day.meetings.push(meeting),
            _ => days.push(MeetingDay {
                label: start.format("%A %-d %B %Y").to_string(),
                date,
                meetings: vec![meeting],
            }),
        }
    }
    Ok(days)
}

/// The caller's upcoming (or past) meetings, grouped by day in their time zone.
pub async fn page(ctx: &Meetings, caller: &Caller, past: bool) -> AppResult<MeetingsPage> {
    let tz: chrono_tz::Tz = caller.time_zone.parse().unwrap_or(chrono_tz::UTC);
    let now = db::now_ms();
    let start_of_today = Utc::now()
        .with_timezone(&tz)
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(tz).earliest())
        .map_or(now, |t| t.timestamp_millis());
    let (from, to) = if past {
        (start_of_today - HORIZON_MS, start_of_today)
    } else {
        (start_of_today, now + HORIZON_MS)
    };
    let rows = repo::list_for_user(ctx.db.pool(), &caller.user, from, to, !past).await?;
    let has_connections = !connections_repo::list_for_user(ctx.db.pool(), &caller.user)
        .await?
        .is_empty();
    let booking_page = db::booking_profiles::profile_of(ctx.db.pool(), &caller.user)
        .await?
        .map(|profile| crate::model::paths::BOOK_HOST.to(&profile.slug));
    Ok(MeetingsPage {
        booking_page,
        days: group_by_day(rows, tz, ctx.local_link_origin.as_deref())?,
        time_zone: tz.name().to_owned(),
        today: Utc::now().with_timezone(&tz).format("%Y-%m-%d").to_string(),
        has_connections,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MeetingId;

    fn row(starts_at: i64) -> MeetingRow {
        MeetingRow {
            id: MeetingId::generate().to_string(),
            source: "calendly".into(),
            title: "Call".into(),
            starts_at,
            ends_at: starts_at + 1_800_000,
            status: "scheduled".into(),
            invitee_name: None,
            invitee_email: None,
            location: None,
            join_url: None,
            cancel_url: None,
            reschedule_url: None,
            kind: "meeting".into(),
        }
    }

    #[test]
    fn days_follow_the_viewers_time_zone() {
        // 2026-11-23 23:30 UTC is already the 24th in Paris.
        let late = Utc
            .with_ymd_and_hms(2026, 11, 23, 23, 30, 0)
            .unwrap()
            .timestamp_millis();
        let early = late - 12 * 3600 * 1000;
        let utc = group_by_day(vec![row(early), row(late)], chrono_tz::UTC, None).unwrap();
        assert_eq!(utc.len(), 1);
        assert_eq!(utc[0].date, "2026-11-23");
        let paris =
            group_by_day(vec![row(early), row(late)], chrono_tz::Europe::Paris, None).unwrap();
        assert_eq!(
            paris.iter().map(|d| d.date.as_str()).collect::<Vec<_>>(),
            ["2026-11-23", "2026-11-24"]
        );
        assert_eq!(paris[1].meetings[0].local_start, "00:30");
        assert_eq!(paris[0].label, "Monday 23 November 2026");
    }
}
