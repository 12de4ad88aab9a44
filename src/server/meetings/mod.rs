//! Meetings: processing webhook events and syncs into the meetings table
//! (idempotent upserts of what the provider holds now), publishing each
//! change to the owner's live stream, and the `/meetings` page.

pub mod live;

use crate::model::{MeetingDay, MeetingId, MeetingView, MeetingsPage, Provider};
use crate::server::auth::Caller;
use crate::server::connections::tokens::CallError;
use crate::server::connections::tokens::TokenManager;
use crate::server::error::AppResult;
use crate::server::jobs::JobError;
use crate::server::platform::db::connections::{self as connections_repo, Connection};
use crate::server::platform::db::meetings::{self as repo, MeetingRow};
use crate::server::platform::db::webhook_events::{self as events_repo, WebhookResult};
use crate::server::platform::db::Db;
use crate::server::platform::db::{self, DbError, TenantScope};
use crate::server::providers::client::ProviderError;
use crate::server::providers::ProviderHttp;
use crate::server::providers::{self, calendly, google, microsoft, ProviderMeeting};
use chrono::{TimeZone, Utc};
use std::sync::Arc;

const DAY_MS: i64 = 24 * 3600 * 1000;
/// How far ahead and back the list looks.
const HORIZON_MS: i64 = 365 * DAY_MS;

/// What turning provider data into meetings uses.
#[derive(Clone)]
pub struct Meetings {
    pub db: Db,
    pub provider_http: ProviderHttp,
    pub tokens: Arc<TokenManager>,
    pub live: Arc<live::Live>,
    /// The one origin whose `http:` links may be rendered: the built-in
    /// sandbox's own, while it runs.
    pub local_link_origin: Option<String>,
}

async fn store(
    ctx: &Meetings,
    connection: &Connection,
    mut meeting: ProviderMeeting,
    event_id: Option<&str>,
) -> Result<(), JobError> {
    providers::keep_safe_links(&mut meeting, ctx.local_link_origin.as_deref());
    let id = repo::upsert(
        &mut *ctx.db.writer().await?,
        &connection.owner,
        connection.id,
        &meeting,
        event_id,
    )
    .await?;
    publish(ctx, connection, id).await;
    Ok(())
}

async fn publish(ctx: &Meetings, connection: &Connection, meeting_id: MeetingId) {
    ctx.live
        .publish(
            &ctx.db,
            connection.owner.user_id(),
            serde_json::json!({ "kind": "meeting", "id": meeting_id }).to_string(),
        )
        .await;
}

/// A verified Calendly delivery: read the booking back and store it.
#[tracing::instrument(skip_all, fields(tenant = %scope.tenant_id(), event = event_id))]
pub async fn process_calendly_event(
    ctx: &Meetings,
    scope: &TenantScope,
    event_id: &str,
) -> Result<(), JobError> {
    let event = events_repo::get(ctx.db.pool(), scope, event_id).await?;
    let connection =
        connections_repo::get_in_tenant(ctx.db.pool(), scope, event.connection).await?;
    let Some(invitee_uri) = event.payload["payload"]["uri"].as_str() else {
        return Err(JobError::Permanent("the payload names no invitee".into()));
    };
    let http = &ctx.provider_http;
    let meeting = ctx
        .tokens
        .call(
            &connection.owner,
            connection.id,
            false,
            |token| async move { calendly::events::booking(http, &token, invitee_uri).await },
        )
        .await?;
    store(ctx, &connection, meeting, Some(event_id)).await?;
    events_repo::finish(
        &mut *ctx.db.writer().await?,
        scope,
        event_id,
        WebhookResult::Processed,
        None,
    )
    .await?;
    Ok(())
}

/// Imports changes from the provider for a connection: Calendly in full
/// (polling mode, first import, force resync), Google incrementally per
/// busy calendar, Outlook by Graph delta. Notifications that arrived before
/// the sync started count as processed once it succeeds.
#[tracing::instrument(skip_all, fields(tenant = %scope.tenant_id(), connection = %connection_id))]
pub async fn sync(
    ctx: &Meetings,
    scope: &TenantScope,
    connection_id: crate::model::ConnectionId,
) -> Result<(), JobError> {
    let connection = connections_repo::get_in_tenant(ctx.db.pool(), scope, connection_id).await?;
    if connection.state != crate::model::ConnectionState::Connected {
        return Ok(());
    }
    let started = db::now_ms();
    let changed = match connection.provider {
        Provider::Calendly => sync_calendly(ctx, &connection).await?,
        Provider::Google => {
            let mut changed = 0;
            for calendar in connections_repo::calendars(ctx.db.pool(), scope, connection.id)
                .await?
                .into_iter()
                .filter(|c| c.busy)
            {
                changed += sync_google_calendar(ctx, &connection, &calendar.calendar_id).await?;
            }
            changed
        }
        Provider::Microsoft => sync_graph(ctx, &connection).await?,
    };
    connections_repo::set_synced(
        &mut *ctx.db.writer().await?,
        &connection.owner,
        connection.id,
        started,
    )
    .await?;
    events_repo::finish_queued_before(&mut *ctx.db.writer().await?, scope, connection.id, started)
        .await?;
    tracing::info!(connection = %connection.id, provider = connection.provider.as_str(), changed, "sync finished");
    Ok(())
}

async fn sync_calendly(ctx: &Meetings, connection: &Connection) -> Result<usize, JobError> {
    let http = &ctx.provider_http;
    let api_base = ctx
        .provider_http
        .endpoints(Provider::Calendly)
        .api_base
        .as_str();
    let user = connection.provider_account_id.as_str();
    let bookings =
        ctx.tokens
            .call(
                &connection.owner,
                connection.id,
                false,
                |token| async move {
                    calendly::events::all_bookings(http, api_base, &token, user).await
                },
            )
            .await?;
    let count = bookings.len();
    for meeting in bookings {
        store(ctx, connection, meeting, None).await?;
    }
    Ok(count)
}

async fn cancel(
    ctx: &Meetings,
    connection: &Connection,
    provider_event_id: &str,
) -> Result<(), JobError> {
    if let Some(id) = repo::mark_canceled(
        &mut *ctx.db.writer().await?,
        &connection.owner,
        connection.id,
        provider_event_id,
    )
    .await?
    {
        publish(ctx, connection, id).await;
    }
    Ok(())
}

fn is_gone(e: &CallError) -> bool {
    matches!(
        e,
        CallError::Provider(ProviderError::Rejected { status: 410, .. })
    )
}

/// One Google calendar: from its sync token, or in full when there is none
/// or Google answers `410 Gone` (then meetings Google no longer lists are
/// canceled here too).
async fn sync_google_calendar(
    ctx: &Meetings,
    connection: &Connection,
    calendar_id: &str,
) -> Result<usize, JobError> {
    let scope = &connection.owner.tenant;
    let http = &ctx.provider_http;
    let api_base = ctx
        .provider_http
        .endpoints(Provider::Google)
        .api_base
        .as_str();
    let mut sync_token =
        connections_repo::calendar_sync_token(ctx.db.pool(), scope, connection.id, calendar_id)
            .await?;
    'restart: loop {
        let full = sync_token.is_none();
        let mut seen = Vec::new();
        let mut page_token: Option<String> = None;
        let mut changed = 0;
        loop {
            let (st, pt) = (sync_token.as_deref(), page_token.as_deref());
            let page = match ctx
                .tokens
                .call(
                    &connection.owner,
                    connection.id,
                    false,
                    |token| async move {
                        google::events::events_page(http, api_base, &token, calendar_id, st, pt)
                            .await
                    },
                )
                .await
            {
                Err(e) if is_gone(&e) && !full => {
                    tracing::info!(connection = %connection.id, "Google sync token expired: full resync");
                    sync_token = None;
                    continue 'restart;
                }
                other => other?,
            };
            changed += page.meetings.len() + page.removed.len();
            for meeting in page.meetings {
                seen.push(meeting.provider_event_id.clone());
                store(ctx, connection, meeting, None).await?;
            }
            for removed in &page.removed {
                cancel(ctx, connection, removed).await?;
            }
            if let Some(next) = page.next_page {
                page_token = Some(next);
                continue;
            }
            if full {
                let prefix = google::events::event_key(calendar_id, "");
                for gone in
                    repo::live_event_ids(ctx.db.pool(), &connection.owner, connection.id, &prefix)
                        .await?
                        .into_iter()
                        .filter(|id| !seen.contains(id))
                {
                    cancel(ctx, connection, &gone).await?;
                }
            }
            connections_repo::set_calendar_sync_token(
                &mut *ctx.db.writer().await?,
                scope,
                connection.id,
                calendar_id,
                page.next_sync_token.as_deref(),
            )
            .await?;
            return Ok(changed);
        }
    }
}

/// Outlook: follows the stored delta link (or starts a new delta over the
/// next year) to its end and keeps the new delta link.
async fn sync_graph(ctx: &Meetings, connection: &Connection) -> Result<usize, JobError> {
    let http = &ctx.provider_http;
    let api_base = ctx
        .provider_http
        .endpoints(Provider::Microsoft)
        .api_base
        .clone();
    let start_over = || {
        let now = db::now_ms();
        microsoft::events::initial_delta_url(&api_base, now - 30 * DAY_MS, now + HORIZON_MS)
    };
    let stored =
        connections_repo::delta_link(ctx.db.pool(), &connection.owner, connection.id).await?;
    let mut resumed = stored.is_some();
    let mut url = stored.unwrap_or_else(start_over);
    let mut changed = 0;
    loop {
        let link = url.as_str();
        let page = match ctx
            .tokens
            .call(
                &connection.owner,
                connection.id,
                false,
                |token| async move { microsoft::events::delta_page(http, &token, link).await },
            )
            .await
        {
            Err(e) if is_gone(&e) && resumed => {
                resumed = false;
                url = start_over();
                continue;
            }
            other => other?,
        };
        changed += page.meetings.len() + page.removed.len();
        for meeting in page.meetings {
            store(ctx, connection, meeting, None).await?;
        }
        for removed in &page.removed {
            cancel(ctx, connection, removed).await?;
        }
        match (page.next_link, page.delta_link) {
            (Some(next), _) => url = next,
            (None, delta) => {
                // Checked before it is kept: every later sync starts there.
                if let Some(link) = &delta {
                    http.pin(Provider::Microsoft, link)
                        .map_err(|e| JobError::Permanent(e.to_string()))?;
                }
                connections_repo::set_delta_link(
                    &mut *ctx.db.writer().await?,
                    &connection.owner,
                    connection.id,
                    delta.as_deref(),
                )
                .await?;
                return Ok(changed);
            }
        }
    }
}

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
    Ok(MeetingView {
        id: row.id()?,
        provider: row.provider()?,
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
    Ok(MeetingsPage {
        days: group_by_day(rows, tz, ctx.local_link_origin.as_deref())?,
        time_zone: tz.name().to_owned(),
        today: Utc::now().with_timezone(&tz).format("%Y-%m-%d").to_string(),
        has_connections,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, starts_at: i64) -> MeetingRow {
        MeetingRow {
            id: id.into(),
            provider: "calendly".into(),
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
        let utc =
            group_by_day(vec![row("a", early), row("b", late)], chrono_tz::UTC, None).unwrap();
        assert_eq!(utc.len(), 1);
        assert_eq!(utc[0].date, "2026-11-23");
        let paris = group_by_day(
            vec![row("a", early), row("b", late)],
            chrono_tz::Europe::Paris,
            None,
        )
        .unwrap();
        assert_eq!(
            paris.iter().map(|d| d.date.as_str()).collect::<Vec<_>>(),
            ["2026-11-23", "2026-11-24"]
        );
        assert_eq!(paris[1].meetings[0].local_start, "00:30");
        assert_eq!(paris[0].label, "Monday 23 November 2026");
    }
}
