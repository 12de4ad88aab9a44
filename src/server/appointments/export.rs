//! Writes calbridge's changes to an appointment's calendar event. The
//! change commits first with an `appointment.export` job in the same
//! transaction; the request then tries once inline. Each pass makes the one
//! provider call that closes the gap and records it in the mapping:
//!
//! - no event yet: create it, with a key derived from the appointment so a
//!   retry after a crash (before the mapping row) finds the same event
//!   (Google: the event id; Graph: `transactionId`);
//! - a newer local version: update, or delete when canceled, with
//!   `If-Match` on the stored etag. A 412 (or the event gone) means the
//!   calendar changed too: its version is read and [`sync_plan`] decides
//!   under the connection's policy — write again, take the calendar's, or
//!   queue the conflict for a person.

use super::import::take_calendar;
use super::Appointments;
use crate::model::{AppointmentId, EventContent, Provider, SyncAction, SyncState, SyncTrigger};
use crate::server::connections::tokens::CallError;
use crate::server::connections::write_target::{self, WriteTarget};
use crate::server::jobs::JobError;
use crate::server::platform::db::appointments::{self as repo, Appointment, Direction, EventLink};
use crate::server::platform::db::TenantScope;
use crate::server::platform::vault::crypto::SecretString;
use crate::server::providers::{CalendarEvent, EventDraft, EventRef, ProviderError};
use crate::server::sync::export as sync_export;
use crate::server::sync::plan::{content_hash, plan, Plan};
use crate::server::sync::runs::{Item, Run, RunOf};
use sha2::{Digest, Sha256};

/// Tries the export now for at most [`sync_export::INLINE_WAIT`]; the
/// queued job covers a failure.
pub async fn try_now(ctx: &Appointments, scope: &TenantScope, id: AppointmentId) {
    let (ctx, scope) = (ctx.clone(), *scope);
    sync_export::try_now(id.into(), async move { reconcile(&ctx, &scope, id).await }).await
}

/// Brings the calendar in line with the appointment, as one export run in
/// the sync log when it called the provider.
#[tracing::instrument(skip_all, fields(appointment = %id))]
pub async fn reconcile(
    ctx: &Appointments,
    scope: &TenantScope,
    id: AppointmentId,
) -> Result<(), JobError> {
    let _one_at_a_time = ctx.sync_locks.lock(id.into()).await;
    let mut run = None;
    let result = passes(ctx, scope, id, &mut run).await;
    if let Some(mut run) = run {
        run.feed_done();
        run.finish(&result).await?;
    }
    result
}

/// What one pass did.
enum Pass {
    /// A write (or a decision) to record, then look again.
    Wrote(Option<SyncAction>, Box<EventLink>),
    /// The calendar's version became the appointment's.
    TookCalendar(SyncAction),
}

fn wrote(action: Option<SyncAction>, link: EventLink) -> Pass {
    Pass::Wrote(action, Box::new(link))
}

async fn passes(
    ctx: &Appointments,
    scope: &TenantScope,
    id: AppointmentId,
    run: &mut Option<Run>,
) -> Result<(), JobError> {
    for _ in 0..sync_export::PASSES {
        let a = repo::get(ctx.db.pool(), scope, id)
            .await?
            .ok_or_else(|| JobError::Permanent("the appointment no longer exists".into()))?;
        let target = match &a.link {
            Some(link) => {
                write_target::recorded(&ctx.db, &a.owner, link.connection, &link.calendar_id)
                    .await?
            }
            None if a.content.canceled => return Ok(()),
            None => match write_target::choose(&ctx.db, &a.owner, Provider::Google).await? {
                Some(target) => target,
                None => return Ok(()),
            },
        };
        if !needs_work(&a) {
            return Ok(());
        }
        if run.is_none() {
            *run = Some(start_run(ctx, &a, &target).await?);
        }
        let log = run.as_mut().expect("started above");
        match pass(ctx, &a, &target).await {
            Ok(Pass::Wrote(action, link)) => {
                repo::save_link(&mut *ctx.db.writer().await?, scope, id, &link).await?;
                if let Some(action) = action {
                    note(log, action, &a, &link, None);
                }
                ctx.announce(&a.owner, id).await;
            }
            Ok(Pass::TookCalendar(action)) => {
                if let Some(link) = &a.link {
                    note(
                        log,
                        action,
                        &a,
                        link,
                        Some("the calendar's version was kept".into()),
                    );
                }
                ctx.announce(&a.owner, id).await;
            }
            Err(e) => {
                if let Some(link) = &a.link {
                    repo::set_link_error(&mut *ctx.db.writer().await?, scope, id, &e.to_string())
                        .await?;
                    note(log, SyncAction::Error, &a, link, Some(e.to_string()));
                }
                return Err(e);
            }
        }
    }
    Err(JobError::Retry(
        "the appointment kept changing while it was written".into(),
    ))
}

/// Whether the calendar lags the appointment: never written, a newer local
/// version, or a person chose calbridge's side of a conflict.
fn needs_work(a: &Appointment) -> bool {
    match &a.link {
        None => !a.content.canceled,
        Some(link) => {
            link.state != SyncState::Conflict
                && (a.version > link.synced_version || link.state == SyncState::Pending)
        }
    }
}

async fn start_run(
    ctx: &Appointments,
    a: &Appointment,
    target: &WriteTarget,
) -> Result<Run, JobError> {
    Ok(Run::start(
        &ctx.db,
        RunOf {
            owner: &a.owner,
            connection: target.connection.id,
            provider: target.connection.provider,
            trigger: SyncTrigger::Export,
            calendar_id: Some(&target.calendar_id),
            feeds_total: 1,
        },
    )
    .await?)
}

fn note(
    run: &mut Run,
    action: SyncAction,
    a: &Appointment,
    link: &EventLink,
    detail: Option<String>,
) {
    run.note(
        action,
        Item {
            calendar_id: Some(&link.calendar_id),
            external_id: &link.external_id,
            title: Some(&a.content.title),
            starts_at: Some(a.content.starts_at),
            detail,
        },
    );
}

/// The mapping once the calendar holds `a` as `event`.
fn synced(a: &Appointment, target: &WriteTarget, event: &CalendarEvent) -> EventLink {
    EventLink {
        connection: target.connection.id,
        calendar_id: target.calendar_id.clone(),
        external_id: event.id.clone(),
        etag: event.etag.clone(),
        content_hash: content_hash(&a.content),
        synced_version: a.version,
        last_synced_at: crate::server::platform::db::now_ms(),
        direction: Direction::Export,
        state: SyncState::Synced,
        error: None,
        external_link: event.link.clone(),
        calendar_version: None,
    }
}

async fn pass(ctx: &Appointments, a: &Appointment, target: &WriteTarget) -> Result<Pass, JobError> {
    let Some(link) = &a.link else {
        let event = create(ctx, a, target, &a.id.to_string()).await?;
        return Ok(wrote(Some(SyncAction::Exported), synced(a, target, &event)));
    };
    if link
        .calendar_version
        .as_ref()
        .is_some_and(|c| c.canceled && link.state == SyncState::Pending)
    {
        // Calbridge's side was kept against a delete in the calendar: a new
        // event, whose key stays the same on a retry.
        let replaced = hex::encode(Sha256::digest(link.external_id.as_bytes()));
        let key = format!("{}-{}", a.id, &replaced[..8]);
        let event = create(ctx, a, target, &key).await?;
        return Ok(wrote(Some(SyncAction::Exported), synced(a, target, &event)));
    }
    let at = &EventRef {
        calendar_id: &link.calendar_id,
        event_id: &link.external_id,
    };
    let (http, if_match) = (&ctx.provider_http, link.etag.as_deref());
    let written = if a.content.canceled {
        call(ctx, a, target, |token| async move {
            target.api.delete_event(http, &token, at, if_match).await
        })
        .await
        .map(|()| None)
    } else {
        let parts = Parts::of(a);
        let pairs = parts.pairs();
        let key = a.id.to_string();
        let draft = parts.draft(&pairs, &key, &target.calendar_id, a);
        let draft = &draft;
        call(ctx, a, target, |token| async move {
            target
                .api
                .update_event(http, &token, at, draft, if_match)
                .await
        })
        .await
        .map(Some)
    };
    match written {
        Ok(event) => {
            let action = if a.content.canceled {
                SyncAction::Deleted
            } else {
                SyncAction::Updated
            };
            let mut link = EventLink {
                etag: event
                    .as_ref()
                    .and_then(|e| e.etag.clone())
                    .or(link.etag.clone()),
                external_link: event
                    .as_ref()
                    .and_then(|e| e.link.clone())
                    .or(link.external_link.clone()),
                ..synced(a, target, &placeholder(link))
            };
            link.external_id = at.event_id.to_owned();
            Ok(wrote(Some(action), link))
        }
        Err(CallError::Provider(ProviderError::Rejected {
            status: 404 | 410 | 412,
            ..
        })) => calendar_changed_too(ctx, a, target, link).await,
        Err(e) => Err(e.into()),
    }
}

/// A link-shaped stand-in for an event calbridge did not read back (a
/// delete answers no body).
fn placeholder(link: &EventLink) -> CalendarEvent {
    CalendarEvent {
        id: link.external_id.clone(),
        etag: link.etag.clone(),
        join_url: None,
        conference_pending: false,
        content: None,
        link: link.external_link.clone(),
    }
}

/// The write was refused because the calendar's event is not the one last
/// synced: read it and decide.
async fn calendar_changed_too(
    ctx: &Appointments,
    a: &Appointment,
    target: &WriteTarget,
    link: &EventLink,
) -> Result<Pass, JobError> {
    let http = &ctx.provider_http;
    let current = call(ctx, a, target, |token| async move {
        target
            .api
            .get_event(http, &token, &link.calendar_id, &link.external_id)
            .await
    })
    .await;
    let (calendar, etag) = match current {
        Ok(event) => match event.content {
            Some(content) => (content, event.etag),
            None => {
                return Err(JobError::Retry(
                    "the calendar's event cannot be read".into(),
                ))
            }
        },
        // Deleted in the calendar.
        Err(CallError::Provider(ProviderError::Rejected {
            status: 404 | 410, ..
        })) => (
            EventContent {
                canceled: true,
                ..a.content.clone()
            },
            link.etag.clone(),
        ),
        Err(e) => return Err(e.into()),
    };
    let policy = repo::conflict_policy(ctx.db.pool(), &a.owner.tenant, link.connection).await?;
    Ok(
        match plan(&link.content_hash, &a.content, true, &calendar, policy) {
            // Only the etag moved, or calbridge wins: write again over the
            // calendar's current version.
            Plan::Nothing | Plan::Export => wrote(
                None,
                EventLink {
                    etag,
                    calendar_version: None,
                    ..link.clone()
                },
            ),
            Plan::Converged => wrote(
                None,
                EventLink {
                    etag,
                    content_hash: content_hash(&calendar),
                    synced_version: a.version,
                    state: SyncState::Synced,
                    error: None,
                    calendar_version: None,
                    ..link.clone()
                },
            ),
            Plan::Import => {
                let action = if calendar.canceled {
                    SyncAction::Deleted
                } else {
                    SyncAction::Updated
                };
                match take_calendar(&ctx.db, a, link, &calendar, etag).await? {
                    Some(_) => Pass::TookCalendar(action),
                    // Changed meanwhile: look again.
                    None => wrote(None, link.clone()),
                }
            }
            Plan::Queue => {
                tracing::info!(appointment = %a.id, "both sides changed: queued for a person");
                wrote(
                    Some(SyncAction::Conflict),
                    EventLink {
                        etag,
                        state: SyncState::Conflict,
                        error: None,
                        calendar_version: Some(calendar),
                        ..link.clone()
                    },
                )
            }
        },
    )
}

async fn call<T, F, Fut>(
    ctx: &Appointments,
    a: &Appointment,
    target: &WriteTarget,
    f: F,
) -> Result<T, CallError>
where
    F: Fn(SecretString) -> Fut,
    Fut: std::future::Future<Output = Result<T, ProviderError>>,
{
    ctx.tokens
        .call(&a.owner, target.connection.id, false, f)
        .await
}

/// The owned text an [`EventDraft`] of the appointment borrows.
struct Parts {
    description: String,
    /// (name, email): calbridge knows attendees by address only.
    attendees: Vec<(String, String)>,
}

impl Parts {
    fn of(a: &Appointment) -> Self {
        Parts {
            description: a.notes.clone().unwrap_or_default(),
            attendees: a
                .content
                .attendees
                .iter()
                .map(|email| (email.clone(), email.clone()))
                .collect(),
        }
    }

    fn pairs(&self) -> Vec<(&str, &str)> {
        self.attendees
            .iter()
            .map(|(n, e)| (n.as_str(), e.as_str()))
            .collect()
    }

    fn draft<'a>(
        &'a self,
        pairs: &'a [(&'a str, &'a str)],
        key: &'a str,
        calendar_id: &'a str,
        a: &'a Appointment,
    ) -> EventDraft<'a> {
        EventDraft {
            key,
            calendar_id,
            title: &a.content.title,
            description: &self.description,
            start: a.content.starts_at,
            end: a.content.ends_at,
            attendees: pairs,
            location: a.content.location.as_deref(),
            online_meeting: false,
        }
    }
}

async fn create(
    ctx: &Appointments,
    a: &Appointment,
    target: &WriteTarget,
    key: &str,
) -> Result<CalendarEvent, JobError> {
    let parts = Parts::of(a);
    let pairs = parts.pairs();
    let draft = parts.draft(&pairs, key, &target.calendar_id, a);
    let (http, draft) = (&ctx.provider_http, &draft);
    let event = call(ctx, a, target, |token| async move {
        target.api.create_event(http, &token, draft).await
    })
    .await?;
    tracing::info!(appointment = %a.id, provider = target.connection.provider.as_str(), "calendar event created");
    Ok(event)
}
