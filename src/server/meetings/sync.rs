//! The change feeds: a verified Calendly delivery read back from the API,
//! and the syncs through each provider's [`providers::ChangeFeed`], all
//! ending in [`super::store`].

use super::store::{cancel, store, store_all};
use super::{Meetings, DAY_MS, HORIZON_MS};
use crate::model::{
    AppointmentId, BookingId, ConnectionId, ConnectionState, ProviderMeeting, SyncAction,
    SyncTrigger,
};
use crate::server::appointments::import;
use crate::server::booking::two_way;
use crate::server::connections::tokens::CallError;
use crate::server::jobs::JobError;
use crate::server::platform::db::appointments as appointments_repo;
use crate::server::platform::db::bookings as bookings_repo;
use crate::server::platform::db::connection_calendars;
use crate::server::platform::db::connections::{self as connections_repo, Connection};
use crate::server::platform::db::meetings as repo;
use crate::server::platform::db::webhook_events::{self as events_repo, WebhookResult};
use crate::server::platform::db::{self, TenantScope};
use crate::server::providers::{self, calendly, Coverage, FeedRequest, ProviderError};
use crate::server::sync::plan::Seen;
use crate::server::sync::runs::{Item, Run, RunOf};
use serde::Deserialize;
use std::collections::{HashMap, HashSet};

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
    let delivery = calendly::wire::Delivery::deserialize(&event.payload).unwrap_or_default();
    let Some(invitee_uri) = delivery.invitee_uri() else {
        return Err(JobError::Permanent("the payload names no invitee".into()));
    };
    let mut run = Run::start(&ctx.db, run_of(&connection, SyncTrigger::Webhook, 1)).await?;
    let http = &ctx.provider_http;
    let stored = async {
        let meeting = ctx
            .tokens
            .call(
                &connection.owner,
                connection.id,
                false,
                |token| async move { calendly::events::booking(http, &token, invitee_uri).await },
            )
            .await?;
        store(ctx, &mut run, &connection, None, meeting, Some(event_id)).await
    }
    .await;
    run.feed_done();
    run.finish(&stored).await?;
    stored?;
    events_repo::finish(&ctx.db, scope, event_id, WebhookResult::Processed, None).await?;
    Ok(())
}

fn run_of(connection: &Connection, trigger: SyncTrigger, feeds_total: usize) -> RunOf<'_> {
    RunOf {
        owner: &connection.owner,
        connection: connection.id,
        provider: connection.provider,
        trigger,
        calendar_id: None,
        feeds_total,
    }
}

/// Imports changes from the provider's change feed: once for the account,
/// or once per busy calendar, as the provider's [`Coverage`] says, as one
/// sync run. Notifications that arrived before the sync started count as
/// processed once it succeeds.
#[tracing::instrument(skip_all, fields(tenant = %scope.tenant_id(), connection = %connection_id))]
pub async fn sync(
    ctx: &Meetings,
    scope: &TenantScope,
    connection_id: ConnectionId,
    trigger: SyncTrigger,
) -> Result<(), JobError> {
    let connection = connections_repo::get_in_tenant(ctx.db.pool(), scope, connection_id).await?;
    if connection.state != ConnectionState::Connected {
        return Ok(());
    }
    let started = db::now_ms();
    let feeds: Vec<Option<String>> = match providers::api(connection.provider).coverage() {
        Coverage::Account => vec![None],
        Coverage::BusyCalendar => {
            connection_calendars::calendars(ctx.db.pool(), scope, connection.id)
                .await?
                .into_iter()
                .filter(|c| c.busy)
                .map(|c| Some(c.calendar_id))
                .collect()
        }
    };
    let mut run = Run::start(&ctx.db, run_of(&connection, trigger, feeds.len())).await?;
    if let [Some(only)] = feeds.as_slice() {
        run.set_calendar(only);
    }
    let mut read = Ok(());
    for calendar_id in &feeds {
        read = read_feed(ctx, &mut run, &connection, calendar_id.as_deref()).await;
        if read.is_err() {
            break;
        }
        run.feed_done();
    }
    let run_id = run.id();
    run.finish(&read).await?;
    read?;
    connections_repo::set_synced(
        &mut *ctx.db.writer().await?,
        &connection.owner,
        connection.id,
        started,
    )
    .await?;
    events_repo::finish_queued_before(&ctx.db, scope, connection.id, started).await?;
    tracing::info!(connection = %connection.id, provider = connection.provider.as_str(), run = %run_id, "sync finished");
    Ok(())
}

/// Where the feed resumes: the calendar's cursor or the account's.
async fn stored_cursor(
    ctx: &Meetings,
    connection: &Connection,
    calendar_id: Option<&str>,
) -> Result<Option<String>, JobError> {
    let pool = ctx.db.pool();
    Ok(match calendar_id {
        Some(calendar) => {
            connection_calendars::calendar_cursor(
                pool,
                &connection.owner.tenant,
                connection.id,
                calendar,
            )
            .await?
        }
        None => connections_repo::account_cursor(pool, &connection.owner, connection.id).await?,
    })
}

async fn keep_cursor(
    ctx: &Meetings,
    connection: &Connection,
    calendar_id: Option<&str>,
    cursor: Option<&str>,
) -> Result<(), JobError> {
    let mut writer = ctx.db.writer().await?;
    match calendar_id {
        Some(calendar) => {
            let scope = &connection.owner.tenant;
            connection_calendars::set_calendar_cursor(
                &mut *writer,
                scope,
                connection.id,
                calendar,
                cursor,
            )
            .await?
        }
        None => {
            connections_repo::set_account_cursor(
                &mut *writer,
                &connection.owner,
                connection.id,
                cursor,
            )
            .await?
        }
    }
    Ok(())
}

/// An event calbridge wrote for one of the owner's bookings or
/// appointments whose id it has not stored yet (the provider's push can
/// arrive before the export records it): the export finishes the record,
/// so importing it too would show it twice.
async fn written_by_calbridge(
    ctx: &Meetings,
    connection: &Connection,
    meeting: &ProviderMeeting,
) -> Result<bool, JobError> {
    let Some(id) = meeting.written_for else {
        return Ok(false);
    };
    Ok(bookings_repo::is_own_record(ctx.db.pool(), &connection.owner, id).await?)
}

/// A listing from scratch names no deleted events, so an appointment's or
/// a booking's event it left out may have been deleted while no cursor
/// was kept (nango#1132's missed deletes). Each one is read once: gone or
/// cancelled, the delete flows back as a change feed would have said it;
/// there but outside the listed window, nothing happens.
async fn confirm_unlisted(
    ctx: &Meetings,
    run: &mut Run,
    connection: &Connection,
    calendar_id: Option<&str>,
    listed: &HashSet<String>,
) -> Result<(), JobError> {
    let Some(api) = providers::api(connection.provider).calendars() else {
        return Ok(());
    };
    let feed = providers::api(connection.provider).change_feed();
    let (pool, scope) = (ctx.db.pool(), &connection.owner.tenant);
    let left_out = |calendar: &str, event: &str| {
        calendar_id.is_none_or(|c| c == calendar)
            && !listed.contains(&feed.meeting_key(Some(calendar), event))
    };
    let mut unlisted: Vec<(String, String, Subject)> = Vec::new();
    for (calendar, event, id) in
        appointments_repo::mapped_events(pool, scope, connection.id).await?
    {
        if !left_out(&calendar, &event) {
            continue;
        }
        let standing = appointments_repo::get(pool, scope, id)
            .await?
            .is_some_and(|a| !a.content.canceled);
        if standing {
            unlisted.push((calendar, event, Subject::Appointment(id)));
        }
    }
    for e in bookings_repo::exported_events(pool, scope, connection.id).await? {
        if !e.canceled && left_out(&e.calendar_id, &e.event_id) {
            unlisted.push((e.calendar_id, e.event_id, Subject::Booking(e.booking)));
        }
    }
    let http = &ctx.provider_http;
    for (calendar, event, subject) in unlisted {
        let (calendar, event) = (calendar.as_str(), event.as_str());
        let read = ctx
            .tokens
            .call(
                &connection.owner,
                connection.id,
                false,
                |token| async move { api.get_event(http, &token, calendar, event).await },
            )
            .await;
        let gone = match read {
            Ok(found) => found.content.is_some_and(|c| c.canceled),
            Err(CallError::Provider(ProviderError::Rejected {
                status: 404 | 410, ..
            })) => true,
            Err(e) => return Err(e.into()),
        };
        if !gone {
            continue;
        }
        tracing::info!(connection = %connection.id, event, "an event calbridge wrote was deleted while no cursor was kept");
        match subject {
            Subject::Appointment(id) => {
                observe_appointment(ctx, run, connection, id, Seen::Removed).await?
            }
            Subject::Booking(id) => {
                observe_booking(ctx, run, connection, id, Seen::Removed).await?
            }
        }
    }
    Ok(())
}

/// Hands the feed's news of an appointment's event to the appointment,
/// once its export (if one runs) has recorded what it wrote.
async fn observe_appointment(
    ctx: &Meetings,
    run: &mut Run,
    connection: &Connection,
    id: AppointmentId,
    seen: Seen,
) -> Result<(), JobError> {
    let _one_at_a_time = ctx.sync_locks.lock(id.into()).await;
    import::observe(&ctx.db, &ctx.live, run, connection, id, seen).await
}

/// The same for a booking's event.
async fn observe_booking(
    ctx: &Meetings,
    run: &mut Run,
    connection: &Connection,
    id: BookingId,
    seen: Seen,
) -> Result<(), JobError> {
    let _one_at_a_time = ctx.sync_locks.lock(id.into()).await;
    two_way::observe(&ctx.db, &ctx.live, run, connection, id, seen).await
}

/// What an event calbridge wrote stands for.
enum Subject {
    Appointment(AppointmentId),
    Booking(BookingId),
}

/// Reads one feed (the account's, or one calendar's) to its end: from the
/// stored cursor, or from scratch when there is none or the provider no
/// longer accepts it. Stores what changed, then keeps the new cursor.
async fn read_feed(
    ctx: &Meetings,
    run: &mut Run,
    connection: &Connection,
    calendar_id: Option<&str>,
) -> Result<(), JobError> {
    let feed = providers::api(connection.provider).change_feed();
    let http = &ctx.provider_http;
    let mut cursor = stored_cursor(ctx, connection, calendar_id).await?;
    'restart: loop {
        let from_scratch = cursor.is_none();
        if from_scratch {
            run.read_from_scratch();
        }
        let now = db::now_ms();
        let mut listed = HashSet::new();
        let mut page: Option<String> = None;
        loop {
            let request = FeedRequest {
                account_id: &connection.provider_account_id,
                calendar_id,
                cursor: cursor.as_deref(),
                page: page.as_deref(),
                window: (now - 30 * DAY_MS, now + HORIZON_MS),
            };
            let request = &request;
            let changes = match ctx
                .tokens
                .call(
                    &connection.owner,
                    connection.id,
                    false,
                    |token| async move { feed.changes(http, &token, request).await },
                )
                .await
            {
                Err(CallError::Provider(ProviderError::CursorExpired)) if !from_scratch => {
                    tracing::info!(connection = %connection.id, "sync cursor expired: reading everything again");
                    cursor = None;
                    continue 'restart;
                }
                other => other?,
            };
            // Events calbridge wrote for bookings and appointments are on
            // the page as those; a change to one flows back to it. Read after
            // the page, so one exported while it was read is known.
            let exported = bookings_repo::exported_events(
                ctx.db.pool(),
                &connection.owner.tenant,
                connection.id,
            )
            .await?;
            let bookings: HashMap<String, BookingId> = exported
                .iter()
                .map(|e| {
                    (
                        feed.meeting_key(Some(&e.calendar_id), &e.event_id),
                        e.booking,
                    )
                })
                .collect();
            let appointments: HashMap<String, AppointmentId> = appointments_repo::mapped_events(
                ctx.db.pool(),
                &connection.owner.tenant,
                connection.id,
            )
            .await?
            .into_iter()
            .map(|(calendar, external_id, id)| {
                (feed.meeting_key(Some(&calendar), &external_id), id)
            })
            .collect();
            let mut to_store = Vec::new();
            for meeting in changes.meetings {
                listed.insert(meeting.provider_event_id.clone());
                if let Some(&id) = appointments.get(&meeting.provider_event_id) {
                    let seen = Seen::Event(meeting.content(), meeting.etag.clone());
                    observe_appointment(ctx, run, connection, id, seen).await?;
                } else if let Some(&id) = bookings.get(&meeting.provider_event_id) {
                    let seen = Seen::Event(meeting.content(), meeting.etag.clone());
                    observe_booking(ctx, run, connection, id, seen).await?;
                } else if written_by_calbridge(ctx, connection, &meeting).await? {
                    run.note(
                        SyncAction::Skipped,
                        Item {
                            calendar_id,
                            external_id: &meeting.provider_event_id,
                            title: Some(&meeting.title),
                            starts_at: Some(meeting.starts_at),
                            detail: Some(
                                "written by calbridge: shown as its booking or appointment".into(),
                            ),
                        },
                    );
                } else {
                    to_store.push(meeting);
                }
            }
            store_all(ctx, run, connection, calendar_id, to_store, None).await?;
            for removed in &changes.removed {
                if let Some(&id) = appointments.get(removed) {
                    observe_appointment(ctx, run, connection, id, Seen::Removed).await?
                } else if let Some(&id) = bookings.get(removed) {
                    observe_booking(ctx, run, connection, id, Seen::Removed).await?
                } else {
                    cancel(ctx, run, connection, calendar_id, removed).await?
                }
            }
            run.checkpoint().await?;
            if let Some(next) = changes.next_page {
                page = Some(next);
                continue;
            }
            let complete_listing = from_scratch
                .then(|| feed.complete_listing_prefix(calendar_id))
                .flatten();
            if from_scratch {
                confirm_unlisted(ctx, run, connection, calendar_id, &listed).await?;
            }
            if let Some(prefix) = complete_listing {
                for gone in
                    repo::live_event_ids(ctx.db.pool(), &connection.owner, connection.id, &prefix)
                        .await?
                        .into_iter()
                        .filter(|id| !listed.contains(id))
                {
                    cancel(ctx, run, connection, calendar_id, &gone).await?;
                }
            }
            keep_cursor(ctx, connection, calendar_id, changes.cursor.as_deref()).await?;
            return Ok(());
        }
    }
}
