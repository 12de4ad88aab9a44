//! Keeps a booking's event on its host's calendar in step with the
//! booking: created with the attendee (the provider mails the invitation)
//! and a Meet or Teams link, moved when the booking moves, deleted when it
//! is canceled. The booking commits first and stands whatever the
//! provider says; a job queued in the booking's transaction finishes the
//! work with retries, and the request that made the change tries once
//! right away so the confirmation usually carries the link.
//!
//! Each pass compares the booking with what was last written to the
//! calendar (`Export`) and does the one provider call that closes the gap,
//! then records it and looks again, so two runs that overlap (the inline
//! try and the job) still end with the calendar matching the booking.
//! Every call is safe to repeat: the create finds an earlier try's event.
//! Moves and deletes carry the event's etag (`If-Match`); a refusal means
//! the host changed the event too, and [`two_way`] decides which side
//! stands.

use super::two_way::{self, Outcome};
use super::Bookings;
use crate::model::{BookingId, EventLocation, Provider, Slot, SyncAction, SyncTrigger};
use crate::server::connections::tokens::CallError;
use crate::server::connections::write_target::{self, WriteTarget as Target};
use crate::server::jobs::JobError;
use crate::server::platform::db::booking_profiles::{self as profiles_repo, EventType, Profile};
use crate::server::platform::db::bookings::{self as repo, Booking, Export};
use crate::server::platform::db::connections as connections_repo;
use crate::server::platform::db::TenantScope;
use crate::server::providers::{CalendarEvent, EventDraft, EventRef, ProviderError};
use crate::server::sync::export as sync_export;
use crate::server::sync::runs::{Item, Run, RunOf};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// Reads of an event whose Meet is still being made before the job
/// takes over.
const CONFERENCE_POLLS: u32 = 5;
const CONFERENCE_POLL_GAP: Duration = Duration::from_millis(200);

/// Tries the export now, for at most [`sync_export::INLINE_WAIT`]; it
/// carries on in the background past that, and the queued job covers a
/// failure.
pub async fn try_now(ctx: &Bookings, scope: &TenantScope, id: BookingId) {
    let (ctx, scope) = (ctx.clone(), *scope);
    sync_export::try_now(id.into(), async move { reconcile(&ctx, &scope, id).await }).await
}

/// Brings the host's calendar in line with the booking; what it wrote is
/// one export run in the sync log.
#[tracing::instrument(skip_all, fields(booking = %id))]
pub async fn reconcile(ctx: &Bookings, scope: &TenantScope, id: BookingId) -> Result<(), JobError> {
    let _one_at_a_time = ctx.sync_locks.lock(id.into()).await;
    let mut wrote = Vec::new();
    let result = passes(ctx, scope, id, &mut wrote).await;
    if let Some(last) = wrote.last() {
        log_run(ctx, &last.booking, &wrote, &result).await?;
    }
    result
}

/// One entry of the export's sync run.
struct Written {
    /// The booking as the pass found it.
    booking: Booking,
    export: Export,
    action: SyncAction,
    detail: Option<String>,
}

async fn passes(
    ctx: &Bookings,
    scope: &TenantScope,
    id: BookingId,
    wrote: &mut Vec<Written>,
) -> Result<(), JobError> {
    for _ in 0..sync_export::PASSES {
        let booking = repo::get(ctx.db.pool(), scope, id)
            .await?
            .ok_or_else(|| JobError::Permanent("the booking no longer exists".into()))?;
        match next_step(ctx, &booking).await {
            Ok(Step::Done) => return Ok(()),
            Ok(Step::Wrote(export)) => {
                let waiting = export.meeting_url.is_none() && export.error.is_some();
                record(ctx, &booking, &export).await?;
                let action = action_of(&booking.export, &export);
                wrote.push(Written {
                    detail: export.error.clone(),
                    booking,
                    export,
                    action,
                });
                if waiting {
                    return Err(JobError::Retry(
                        "the online meeting is still being created".into(),
                    ));
                }
            }
            Ok(Step::Looked(outcome)) => {
                let seen = match outcome {
                    Outcome::TookCalendar => Some((
                        SyncAction::Updated,
                        "changed in the calendar: the booking follows",
                    )),
                    Outcome::Queued => Some((SyncAction::Conflict, "changed on both sides")),
                    _ => None,
                };
                if let Some((action, detail)) = seen {
                    ctx.announce(&booking.host, booking.id).await;
                    wrote.push(Written {
                        export: booking.export.clone(),
                        booking,
                        action,
                        detail: Some(detail.to_owned()),
                    });
                    return Ok(());
                }
            }
            Err(e) => {
                let failed = Export {
                    error: Some(e.to_string()),
                    ..booking.export.clone()
                };
                record(ctx, &booking, &failed).await?;
                if failed.connection.is_some() {
                    wrote.push(Written {
                        detail: failed.error.clone(),
                        booking,
                        export: failed,
                        action: SyncAction::Error,
                    });
                }
                return Err(e);
            }
        }
    }
    Err(JobError::Retry(
        "the booking kept changing while it was exported".into(),
    ))
}

/// What one pass did to the calendar, as the sync log says it.
fn action_of(before: &Export, after: &Export) -> SyncAction {
    if after.error.is_some()
        && after.event_id == before.event_id
        && after.canceled == before.canceled
    {
        SyncAction::Error
    } else if after.canceled {
        SyncAction::Deleted
    } else if before.event_id.is_none() || before.canceled {
        SyncAction::Exported
    } else {
        SyncAction::Updated
    }
}

async fn log_run(
    ctx: &Bookings,
    booking: &Booking,
    wrote: &[Written],
    result: &Result<(), JobError>,
) -> Result<(), JobError> {
    let (Some(connection_id), Some(calendar_id)) = (
        wrote.iter().find_map(|w| w.export.connection),
        wrote.iter().find_map(|w| w.export.calendar_id.clone()),
    ) else {
        return Ok(());
    };
    let connection =
        connections_repo::get_for_user(ctx.db.pool(), &booking.host, connection_id).await?;
    let mut run = Run::start(
        &ctx.db,
        RunOf {
            owner: &booking.host,
            connection: connection_id,
            provider: connection.provider,
            trigger: SyncTrigger::Export,
            calendar_id: Some(&calendar_id),
            feeds_total: 1,
        },
    )
    .await?;
    let title = two_way::log_title(booking);
    for w in wrote {
        run.note(
            w.action,
            Item {
                calendar_id: Some(&calendar_id),
                external_id: w.export.event_id.as_deref().unwrap_or("(not created)"),
                title: Some(&title),
                starts_at: Some(w.booking.starts_at),
                detail: w.detail.clone(),
            },
        );
    }
    run.feed_done();
    run.finish(result).await?;
    Ok(())
}

async fn record(ctx: &Bookings, booking: &Booking, export: &Export) -> Result<(), JobError> {
    let mut conn = ctx.db.writer().await?;
    repo::record_export(&mut *conn, &booking.host.tenant, booking.id, export).await?;
    drop(conn);
    if export.meeting_url != booking.export.meeting_url {
        ctx.announce(&booking.host, booking.id).await;
    }
    Ok(())
}

enum Step {
    /// The calendar matches the booking (or the host has no calendar to
    /// write to, or a person is to settle a conflict).
    Done,
    /// One change made; what the calendar holds now.
    Wrote(Export),
    /// A write was refused because the calendar's event changed too; what
    /// its current version came to is recorded.
    Looked(Outcome),
}

/// The one provider call that brings the calendar closer to the booking.
async fn next_step(ctx: &Bookings, booking: &Booking) -> Result<Step, JobError> {
    let export = &booking.export;
    if export.conflict.is_some() {
        return Ok(Step::Done);
    }
    if !booking.confirmed {
        let (Some(event_id), false) = (export.event_id.as_deref(), export.canceled) else {
            return Ok(Step::Done);
        };
        let Some(target) = recorded_target(ctx, booking).await? else {
            return Ok(Step::Done);
        };
        let at = EventRef {
            calendar_id: &target.calendar_id,
            event_id,
        };
        let if_match = export.etag.as_deref();
        let deleted = ctx
            .tokens
            .call(&booking.host, target.connection.id, false, |token| {
                let (http, at, api) = (&ctx.provider_http, &at, target.api);
                async move { api.delete_event(http, &token, at, if_match).await }
            })
            .await;
        if let Err(step) = refused(ctx, booking, &target, &at, deleted).await? {
            return Ok(step);
        }
        tracing::info!(booking = %booking.id, "calendar event deleted");
        return Ok(Step::Wrote(Export {
            canceled: true,
            error: None,
            ..export.clone()
        }));
    }
    let (host, event_type) = host_of(ctx, booking).await?;
    let target = match recorded_target(ctx, booking).await? {
        Some(target) => target,
        None => match choose_target(ctx, &host, event_type.as_ref()).await? {
            Some(target) => target,
            None => return Ok(Step::Done),
        },
    };
    let online = wants_online_meeting(event_type.as_ref(), target.connection.provider);
    // The event was deleted in the calendar and the booking stands (its
    // side was kept): a new event, whose key stays the same on a retry.
    let replaced = export.event_id.as_deref().filter(|_| export.canceled);
    let event = match export.event_id.as_deref().filter(|_| replaced.is_none()) {
        None => {
            let (title, description, location) = describe(booking, &host, event_type.as_ref());
            let key = match replaced {
                Some(old) => {
                    let digest = hex::encode(Sha256::digest(old.as_bytes()));
                    format!("{}-{}", booking.id, &digest[..8])
                }
                None => booking.id.to_string(),
            };
            let attendees = [(
                booking.attendee_name.as_str(),
                booking.attendee_email.as_str(),
            )];
            let draft = EventDraft {
                key: &key,
                calendar_id: &target.calendar_id,
                title: &title,
                description: &description,
                start: booking.starts_at,
                end: booking.ends_at,
                attendees: &attendees,
                location: location.as_deref(),
                online_meeting: online,
            };
            let created = ctx
                .tokens
                .call(&booking.host, target.connection.id, false, |token| {
                    let (http, draft, api) = (&ctx.provider_http, &draft, target.api);
                    async move { api.create_event(http, &token, draft).await }
                })
                .await?;
            tracing::info!(booking = %booking.id, provider = target.connection.provider.as_str(), "calendar event created");
            created
        }
        Some(event_id) => {
            let at = EventRef {
                calendar_id: &target.calendar_id,
                event_id,
            };
            let moved = export.starts_at != Some(booking.starts_at)
                || export.ends_at != Some(booking.ends_at);
            if moved {
                let (start, end) = (booking.starts_at, booking.ends_at);
                let if_match = export.etag.as_deref();
                let event = ctx
                    .tokens
                    .call(&booking.host, target.connection.id, false, |token| {
                        let (http, at, api) = (&ctx.provider_http, &at, target.api);
                        async move { api.move_event(http, &token, at, start, end, if_match).await }
                    })
                    .await;
                let event = match refused(ctx, booking, &target, &at, event).await? {
                    Ok(event) => event,
                    Err(step) => return Ok(step),
                };
                tracing::info!(booking = %booking.id, "calendar event moved");
                event
            } else if online && export.meeting_url.is_none() {
                read_event(ctx, booking, &target, &at).await?
            } else {
                return Ok(Step::Done);
            }
        }
    };
    let event = await_conference(ctx, booking, &target, event, online).await?;
    Ok(Step::Wrote(Export {
        connection: Some(target.connection.id),
        calendar_id: Some(target.calendar_id),
        etag: event.etag,
        starts_at: Some(booking.starts_at),
        ends_at: Some(booking.ends_at),
        canceled: false,
        // A new event has its own link.
        meeting_url: event
            .join_url
            .or_else(|| export.meeting_url.clone().filter(|_| replaced.is_none())),
        error: (online && event.conference_pending)
            .then(|| "the online meeting is still being created".to_owned()),
        event_id: Some(event.id),
        conflict: None,
    }))
}

/// A move or delete the calendar refused because its event is not the
/// one last written (412, or gone): reads the event's current version and
/// lets [`two_way::decide`] say what that means. What was written, or the
/// step the refusal came to.
async fn refused<T>(
    ctx: &Bookings,
    booking: &Booking,
    target: &Target,
    at: &EventRef<'_>,
    written: Result<T, CallError>,
) -> Result<Result<T, Step>, JobError> {
    match written {
        Ok(done) => return Ok(Ok(done)),
        Err(CallError::Provider(ProviderError::Rejected {
            status: 404 | 410 | 412,
            ..
        })) => {}
        Err(e) => return Err(e.into()),
    }
    let Some(agreed) = booking.export.agreed() else {
        return Err(JobError::Retry("the booking has no event yet".into()));
    };
    let (calendar, etag) = match read_event(ctx, booking, target, at).await {
        Ok(CalendarEvent {
            content: Some(content),
            etag,
            ..
        }) => (
            Slot {
                starts_at: content.starts_at,
                ends_at: content.ends_at,
                canceled: content.canceled,
            },
            etag,
        ),
        Ok(_) => {
            return Err(JobError::Retry(
                "the calendar's event cannot be read".into(),
            ))
        }
        Err(CallError::Provider(ProviderError::Rejected {
            status: 404 | 410, ..
        })) => (
            Slot {
                canceled: true,
                ..agreed
            },
            None,
        ),
        Err(e) => return Err(e.into()),
    };
    let outcome = two_way::decide(&ctx.db, booking, calendar, etag).await?;
    tracing::info!(booking = %booking.id, ?outcome, "the calendar's event changed too");
    Ok(Err(Step::Looked(outcome)))
}

async fn read_event(
    ctx: &Bookings,
    booking: &Booking,
    target: &Target,
    at: &EventRef<'_>,
) -> Result<CalendarEvent, CallError> {
    ctx.tokens
        .call(&booking.host, target.connection.id, false, |token| {
            let (http, api) = (&ctx.provider_http, target.api);
            async move {
                api.get_event(http, &token, at.calendar_id, at.event_id)
                    .await
            }
        })
        .await
}

/// Reads a Meet that is still being created (Google answers `pending`
/// first) a few times; the job reads again later if it stays pending.
async fn await_conference(
    ctx: &Bookings,
    booking: &Booking,
    target: &Target,
    mut event: CalendarEvent,
    online: bool,
) -> Result<CalendarEvent, JobError> {
    let mut polls = 0;
    while online && event.conference_pending && event.join_url.is_none() && polls < CONFERENCE_POLLS
    {
        if polls > 0 {
            tokio::time::sleep(CONFERENCE_POLL_GAP).await;
        }
        polls += 1;
        let at = EventRef {
            calendar_id: &target.calendar_id,
            event_id: &event.id,
        };
        event = read_event(ctx, booking, target, &at).await?;
    }
    Ok(event)
}

async fn host_of(
    ctx: &Bookings,
    booking: &Booking,
) -> Result<(Profile, Option<EventType>), JobError> {
    let pool = ctx.db.pool();
    let host = profiles_repo::profile_of(pool, &booking.host)
        .await?
        .ok_or_else(|| JobError::Permanent("the host no longer takes bookings".into()))?;
    let event_type = profiles_repo::event_types_of(pool, &booking.host)
        .await?
        .into_iter()
        .find(|e| Some(e.id) == booking.event_type);
    Ok((host, event_type))
}

/// The connection and calendar an earlier pass wrote the event to.
async fn recorded_target(ctx: &Bookings, booking: &Booking) -> Result<Option<Target>, JobError> {
    let (Some(id), Some(calendar_id)) = (
        booking.export.connection,
        booking.export.calendar_id.as_deref(),
    ) else {
        return Ok(None);
    };
    write_target::recorded(&ctx.db, &booking.host, id, calendar_id)
        .await
        .map(Some)
}

/// The host's calendar for new bookings, the provider of the event type's
/// video link first (Meet: Google; Teams: Outlook).
async fn choose_target(
    ctx: &Bookings,
    host: &Profile,
    event_type: Option<&EventType>,
) -> Result<Option<Target>, JobError> {
    let preferred = match event_type.map(|e| e.location) {
        Some(EventLocation::MicrosoftTeams) => Provider::Microsoft,
        _ => Provider::Google,
    };
    write_target::choose(&ctx.db, &host.owner, preferred).await
}

/// Whether the event carries a video link its calendar's provider makes.
fn wants_online_meeting(event_type: Option<&EventType>, provider: Provider) -> bool {
    matches!(
        (event_type.map(|e| e.location), provider),
        (Some(EventLocation::GoogleMeet), Provider::Google)
            | (Some(EventLocation::MicrosoftTeams), Provider::Microsoft)
    )
}

/// The event's title, description and location, as both the host and the
/// attendee see them. Never the manage link: it is the attendee's alone.
fn describe(
    booking: &Booking,
    host: &Profile,
    event_type: Option<&EventType>,
) -> (String, String, Option<String>) {
    let name = event_type.map_or("Meeting", |e| e.name.as_str());
    let title = format!("{name} between {} and {}", host.name, booking.attendee_name);
    let mut description = format!(
        "Booked through calbridge by {} <{}>.",
        booking.attendee_name, booking.attendee_email
    );
    if let Some(phone) = &booking.attendee_phone {
        description.push_str(&format!("\nPhone: {phone}"));
    }
    if let Some(purpose) = &booking.purpose {
        description.push_str(&format!("\n\n{purpose}"));
    }
    let detail = event_type.and_then(|e| e.location_detail.clone());
    let location = match event_type.map(|e| e.location) {
        Some(EventLocation::Phone) => detail
            .or_else(|| booking.attendee_phone.clone())
            .map(|number| format!("Phone: {number}")),
        Some(EventLocation::InPerson) => detail,
        _ => None,
    };
    (title, description, location)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EventTypeId, TenantId, UserId};
    use crate::server::platform::db::UserScope;

    fn host() -> Profile {
        Profile {
            owner: UserScope::new(
                TenantScope::new(TenantId(uuid::Uuid::now_v7())),
                UserId(uuid::Uuid::now_v7()),
            ),
            name: "Alice".into(),
            email: "alice@example.com".into(),
            slug: "alice".into(),
            time_zone: "Europe/Berlin".into(),
            weekly_hours: "{}".into(),
            date_overrides: "[]".into(),
            public_daily_limit: 20,
        }
    }

    fn event_type(location: EventLocation, detail: Option<&str>) -> EventType {
        EventType {
            id: EventTypeId(uuid::Uuid::now_v7()),
            slug: "intro".into(),
            name: "Intro call".into(),
            duration: 30,
            location,
            location_detail: detail.map(str::to_owned),
            buffer_before: 0,
            buffer_after: 0,
            minimum_notice: 0,
            window_days: 30,
            slot_interval: 30,
            daily_limit: None,
        }
    }

    fn booking(host: &Profile) -> Booking {
        Booking {
            id: BookingId(uuid::Uuid::now_v7()),
            host: host.owner,
            event_type: None,
            starts_at: 0,
            ends_at: 1_800_000,
            buffer_before: 0,
            buffer_after: 0,
            confirmed: true,
            attendee_name: "Vera".into(),
            attendee_email: "vera@example.com".into(),
            attendee_phone: Some("+49 30 1234567".into()),
            attendee_time_zone: "Europe/Berlin".into(),
            purpose: Some("Pricing questions".into()),
            request_hash: None,
            sequence: 0,
            export: Export::default(),
        }
    }

    #[test]
    fn the_event_names_both_people_and_keeps_the_manage_link_out() {
        let host = host();
        let b = booking(&host);
        let (title, description, location) = describe(
            &b,
            &host,
            Some(&event_type(EventLocation::GoogleMeet, None)),
        );
        assert_eq!(title, "Intro call between Alice and Vera");
        assert!(description.contains("vera@example.com"));
        assert!(description.contains("+49 30 1234567"));
        assert!(description.contains("Pricing questions"));
        assert!(!description.contains("token"));
        assert_eq!(location, None, "the video link is the location");
    }

    #[test]
    fn phone_and_in_person_events_say_where() {
        let host = host();
        let b = booking(&host);
        let phone = describe(&b, &host, Some(&event_type(EventLocation::Phone, None))).2;
        assert_eq!(phone.as_deref(), Some("Phone: +49 30 1234567"));
        let fixed = describe(
            &b,
            &host,
            Some(&event_type(EventLocation::Phone, Some("+1 212 555 0100"))),
        )
        .2;
        assert_eq!(fixed.as_deref(), Some("Phone: +1 212 555 0100"));
        let office = describe(
            &b,
            &host,
            Some(&event_type(
                EventLocation::InPerson,
                Some("Torstr. 1, Berlin"),
            )),
        )
        .2;
        assert_eq!(office.as_deref(), Some("Torstr. 1, Berlin"));
        assert_eq!(
            describe(&b, &host, None).0,
            "Meeting between Alice and Vera"
        );
    }

    #[test]
    fn only_the_matching_provider_makes_the_video_link() {
        let meet = event_type(EventLocation::GoogleMeet, None);
        let teams = event_type(EventLocation::MicrosoftTeams, None);
        let phone = event_type(EventLocation::Phone, None);
        assert!(wants_online_meeting(Some(&meet), Provider::Google));
        assert!(!wants_online_meeting(Some(&meet), Provider::Microsoft));
        assert!(wants_online_meeting(Some(&teams), Provider::Microsoft));
        assert!(!wants_online_meeting(Some(&teams), Provider::Google));
        assert!(!wants_online_meeting(Some(&phone), Provider::Google));
        assert!(!wants_online_meeting(None, Provider::Google));
    }
}
