//! The change feeds: a verified Calendly delivery read back from the API,
//! and the syncs (Calendly in full, Google incrementally per busy calendar,
//! Outlook by Graph delta), all ending in [`super::store`].

use super::store::{cancel, store};
use super::{Meetings, DAY_MS, HORIZON_MS};
use crate::model::Provider;
use crate::server::connections::tokens::CallError;
use crate::server::jobs::JobError;
use crate::server::platform::db::connections::{self as connections_repo, Connection};
use crate::server::platform::db::meetings as repo;
use crate::server::platform::db::webhook_events::{self as events_repo, WebhookResult};
use crate::server::platform::db::{self, TenantScope};
use crate::server::providers::client::ProviderError;
use crate::server::providers::{calendly, google, microsoft};

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
