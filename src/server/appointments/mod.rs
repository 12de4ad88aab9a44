//! Appointments people create on `/meetings` or agents create over the
//! API, kept in two-way sync with their owner's calendar: [`export`]
//! writes calbridge's changes (creates safe to repeat, updates and deletes
//! with `If-Match`), [`import`] takes the calendar's changes from the
//! change feeds, and [`sync_plan`] (pure) decides which way a change flows and
//! when both sides changed. A host with a booking profile never has two
//! of their appointments or bookings at overlapping times: the check and
//! the write share one transaction under the host's lock.

pub mod conflicts;
pub mod export;
pub mod form;
pub mod import;

use crate::model::{AppointmentId, EventContent, SyncState, UserId};
use crate::server::booking::error::BookError;
use crate::server::connections::tokens::TokenManager;
use crate::server::error::AppError;
use crate::server::platform::clock::Clock;
use crate::server::platform::db::appointments::{
    self as repo, Appointment, EventLink, NewAppointment,
};
use crate::server::platform::db::booking_profiles as profiles_repo;
use crate::server::platform::db::bookings as bookings_repo;
use crate::server::platform::db::users as users_repo;
use crate::server::platform::db::Db;
use crate::server::platform::db::{DbError, Duplicate, TenantScope, Tx, UserScope};
use crate::server::platform::live::Live;
use crate::server::providers::ProviderHttp;
use crate::server::sync::export as sync_export;
use crate::server::sync::plan::{self as sync_plan, Keep};
use crate::server::sync::SyncLocks;
use crate::server::validate::{normalize_email, one_line_name};
use sha2::{Digest, Sha256};
use std::sync::Arc;

const MAX_TITLE: usize = 200;
const MAX_LOCATION: usize = 500;
const MAX_NOTES: usize = 5_000;
const MAX_ATTENDEES: usize = 50;
/// The longest appointment: two weeks.
const MAX_LENGTH_MS: i64 = 14 * 24 * 3_600_000;
/// The widest range one list reads.
pub const MAX_RANGE_MS: i64 = 366 * 24 * 3_600_000;
pub const LIST_LIMIT: i64 = 500;

/// What the appointment service uses.
#[derive(Clone)]
pub struct Appointments {
    pub db: Db,
    pub clock: Arc<Clock>,
    pub tokens: Arc<TokenManager>,
    pub provider_http: ProviderHttp,
    /// Appointments are meetings on their owner's live page.
    pub live: Arc<Live>,
    /// One export of an appointment at a time here (the inline try, its
    /// job), and none while a sync takes the calendar's side of it.
    pub sync_locks: Arc<SyncLocks>,
}

impl Appointments {
    /// Tells the owner's open meetings pages that an appointment changed.
    pub async fn announce(&self, owner: &UserScope, id: AppointmentId) {
        announce(&self.db, &self.live, owner, id).await;
    }
}

pub(crate) async fn announce(db: &Db, live: &Live, owner: &UserScope, id: AppointmentId) {
    let event = serde_json::json!({ "kind": "meeting", "id": id }).to_string();
    live.publish(db, owner.user_id(), event).await;
}

/// Who may see and change an appointment: anyone of the tenant (an API
/// key), or its owner alone (the UI).
#[derive(Clone, Copy)]
pub enum Access<'a> {
    Tenant(&'a TenantScope),
    Owner(&'a UserScope),
}

impl Access<'_> {
    fn tenant(&self) -> &TenantScope {
        match self {
            Access::Tenant(t) => t,
            Access::Owner(o) => &o.tenant,
        }
    }

    fn owner(&self) -> Option<UserId> {
        match self {
            Access::Tenant(_) => None,
            Access::Owner(o) => Some(o.user_id()),
        }
    }
}

/// The fields of a create (all but attendees, location and notes
/// required) or of a change (any subset). `Some(None)` clears a field.
#[derive(Default)]
pub struct Draft<'a> {
    pub title: Option<&'a str>,
    /// Unix ms.
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub attendees: Option<&'a [String]>,
    pub location: Option<Option<&'a str>>,
    pub notes: Option<Option<&'a str>>,
}

fn invalid(field: &'static str, message: &'static str) -> BookError {
    BookError::Invalid { field, message }
}

fn text_within(
    text: Option<&str>,
    max: usize,
    field: &'static str,
    message: &'static str,
) -> Result<Option<String>, BookError> {
    let text = text.map(str::trim).filter(|t| !t.is_empty());
    match text {
        Some(t) if t.chars().count() > max => Err(invalid(field, message)),
        other => Ok(other.map(str::to_owned)),
    }
}

/// `draft` over `base` (the appointment as it is, for a change), checked.
pub fn checked(
    base: Option<(&EventContent, Option<&str>)>,
    draft: &Draft<'_>,
) -> Result<(EventContent, Option<String>), BookError> {
    let title = match (draft.title, base) {
        (Some(t), _) => t.trim().to_owned(),
        (None, Some((b, _))) => b.title.clone(),
        (None, None) => String::new(),
    };
    if title.is_empty() {
        return Err(invalid("title", "Give the appointment a title."));
    }
    if one_line_name(&title, MAX_TITLE).is_none() {
        return Err(invalid(
            "title",
            "Keep the title to 200 characters on one line.",
        ));
    }
    let start = draft
        .start
        .or(base.map(|(b, _)| b.starts_at))
        .ok_or_else(|| {
            invalid(
                "start",
                "Give the start as RFC 3339 with an offset, like 2026-12-02T14:00:00+01:00.",
            )
        })?;
    let end = draft.end.or(base.map(|(b, _)| b.ends_at)).ok_or_else(|| {
        invalid(
            "end",
            "Give the end as RFC 3339 with an offset, like 2026-12-02T15:00:00+01:00.",
        )
    })?;
    if end <= start {
        return Err(invalid("end", "The end must come after the start."));
    }
    if end - start > MAX_LENGTH_MS {
        return Err(invalid("end", "An appointment lasts at most two weeks."));
    }
    let attendees = match (draft.attendees, base) {
        (Some(list), _) => {
            if list.len() > MAX_ATTENDEES {
                return Err(invalid("attendees", "Invite at most 50 attendees."));
            }
            list.iter()
                .map(|a| normalize_email(a))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| invalid("attendees", "Give each attendee as an email address."))?
        }
        (None, Some((b, _))) => b.attendees.clone(),
        (None, None) => Vec::new(),
    };
    let location = match (draft.location, base) {
        (Some(l), _) => text_within(
            l,
            MAX_LOCATION,
            "location",
            "Keep the location to 500 characters.",
        )?,
        (None, Some((b, _))) => b.location.clone(),
        (None, None) => None,
    };
    let notes = match (draft.notes, base) {
        (Some(n), _) => text_within(n, MAX_NOTES, "notes", "Keep the notes to 5,000 characters.")?,
        (None, Some((_, n))) => n.map(str::to_owned),
        (None, None) => None,
    };
    let content = EventContent {
        title,
        starts_at: start,
        ends_at: end,
        attendees,
        location,
        canceled: base.is_some_and(|(b, _)| b.canceled),
    }
    .normalized();
    Ok((content, notes))
}

/// The user an API request names as `host`: a booking page slug or the
/// user's email, in the key's tenant.
pub async fn owner_named(
    ctx: &Appointments,
    tenant: &TenantScope,
    host: &str,
) -> Result<UserScope, BookError> {
    let host = host.trim();
    if host.contains('@') {
        let email = normalize_email(host).map_err(|_| BookError::NotFound)?;
        let user = users_repo::by_email(ctx.db.pool(), tenant, &email)
            .await?
            .ok_or(BookError::NotFound)?;
        return Ok(UserScope::new(*tenant, user.id));
    }
    match profiles_repo::profile_by_slug(ctx.db.pool(), host).await? {
        Some(p) if p.owner.tenant == *tenant => Ok(p.owner),
        _ => Err(BookError::NotFound),
    }
}

/// Where the appointment stands with its calendar event.
pub fn sync_state(a: &Appointment) -> SyncState {
    match &a.link {
        None => SyncState::Pending,
        Some(link) if link.state == SyncState::Synced && a.version > link.synced_version => {
            SyncState::Pending
        }
        Some(link) => link.state,
    }
}

fn request_hash(owner: &UserScope, content: &EventContent, notes: Option<&str>) -> String {
    let canonical = serde_json::json!([owner.user_id(), sync_plan::content_hash(content), notes]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// Refuses a time that overlaps another confirmed appointment or booking
/// of an owner who takes bookings. Runs inside the write under the host's
/// lock, so two writes cannot both pass.
async fn check_free(
    tx: &mut Tx,
    owner: &UserScope,
    content: &EventContent,
    except: Option<AppointmentId>,
) -> Result<(), BookError> {
    if content.canceled || profiles_repo::profile_of(&mut **tx, owner).await?.is_none() {
        return Ok(());
    }
    let (from, to) = (content.starts_at, content.ends_at);
    let bookings = bookings_repo::confirmed_between(&mut **tx, owner, from, to).await?;
    let appointments = repo::busy_between(&mut **tx, owner, from, to, except).await?;
    if bookings.is_empty() && appointments.is_empty() {
        Ok(())
    } else {
        Err(BookError::SlotTaken {
            alternatives: Vec::new(),
        })
    }
}

async fn replay(
    ctx: &Appointments,
    tenant: &TenantScope,
    key: Option<&str>,
    hash: &str,
) -> Result<Option<Appointment>, BookError> {
    let Some(key) = key else { return Ok(None) };
    match repo::by_idempotency_key(ctx.db.pool(), tenant, key).await? {
        Some(earlier) if earlier.request_hash.as_deref() == Some(hash) => Ok(Some(earlier)),
        Some(_) => Err(BookError::KeyReused),
        None => Ok(None),
    }
}

/// Creates an appointment for `owner` and writes it to their calendar.
pub async fn create(
    ctx: &Appointments,
    owner: &UserScope,
    draft: &Draft<'_>,
    idempotency_key: Option<&str>,
) -> Result<Appointment, BookError> {
    if let Some(key) = idempotency_key {
        if key.is_empty() || key.len() > 200 {
            return Err(invalid(
                "idempotency_key",
                "Use a key of 1 to 200 characters.",
            ));
        }
    }
    let (content, notes) = checked(None, draft)?;
    let hash = request_hash(owner, &content, notes.as_deref());
    if let Some(earlier) = replay(ctx, &owner.tenant, idempotency_key, &hash).await? {
        return Ok(earlier);
    }
    let id = AppointmentId::generate();
    let now = ctx.clock.now_ms();
    let mut tx = ctx.db.begin_write().await?;
    bookings_repo::lock_host(&mut tx, owner).await?;
    check_free(&mut tx, owner, &content, None).await?;
    let new = NewAppointment {
        id,
        owner,
        content: &content,
        notes: notes.as_deref(),
        idempotency_key,
        request_hash: &hash,
    };
    match repo::insert(&mut *tx, &new).await {
        Ok(()) => {}
        Err(DbError::Conflict(Duplicate::IdempotencyKey)) => {
            drop(tx);
            return replay(ctx, &owner.tenant, idempotency_key, &hash)
                .await?
                .ok_or(BookError::KeyReused);
        }
        Err(e) => return Err(e.into()),
    }
    sync_export::queue_in(&mut tx, &owner.tenant, id, now).await?;
    tx.commit().await.map_err(DbError::from)?;
    tracing::info!(appointment = %id, "appointment created");
    after_write(ctx, owner, id).await
}

/// Tells the owner's pages, tries the export now, and reads the result.
async fn after_write(
    ctx: &Appointments,
    owner: &UserScope,
    id: AppointmentId,
) -> Result<Appointment, BookError> {
    ctx.announce(owner, id).await;
    export::try_now(ctx, &owner.tenant, id).await;
    repo::get(ctx.db.pool(), &owner.tenant, id)
        .await?
        .ok_or(BookError::NotFound)
}

pub async fn get(
    ctx: &Appointments,
    access: Access<'_>,
    id: AppointmentId,
) -> Result<Appointment, BookError> {
    repo::get(ctx.db.pool(), access.tenant(), id)
        .await?
        .filter(|a| access.owner().is_none_or(|o| a.owner.user_id() == o))
        .ok_or(BookError::NotFound)
}

/// The appointments overlapping `[from, to)`: the tenant's (one owner's,
/// if given) for an API key, the caller's own for a person.
pub async fn list(
    ctx: &Appointments,
    access: Access<'_>,
    owner: Option<UserId>,
    from: i64,
    to: i64,
) -> Result<Vec<Appointment>, BookError> {
    if to <= from || to - from > MAX_RANGE_MS {
        return Err(invalid(
            "end",
            "Ask for a range of at most 366 days, end after start.",
        ));
    }
    let owner = access.owner().or(owner);
    Ok(repo::list(ctx.db.pool(), access.tenant(), owner, from, to, LIST_LIMIT).await?)
}

/// Changes what `draft` names; the calendar follows.
pub async fn update(
    ctx: &Appointments,
    access: Access<'_>,
    id: AppointmentId,
    draft: &Draft<'_>,
) -> Result<Appointment, BookError> {
    let current = get(ctx, access, id).await?;
    if current.content.canceled {
        return Err(BookError::Canceled);
    }
    let (content, notes) = checked(Some((&current.content, current.notes.as_deref())), draft)?;
    if content == current.content && notes == current.notes {
        return Ok(current);
    }
    write(ctx, &current, &content, notes.as_deref()).await
}

/// Cancels the appointment; its calendar event is deleted. Again: no change.
pub async fn cancel(
    ctx: &Appointments,
    access: Access<'_>,
    id: AppointmentId,
) -> Result<Appointment, BookError> {
    let current = get(ctx, access, id).await?;
    if current.content.canceled {
        return Ok(current);
    }
    let content = EventContent {
        canceled: true,
        ..current.content.clone()
    };
    write(ctx, &current, &content, current.notes.as_deref()).await
}

async fn write(
    ctx: &Appointments,
    current: &Appointment,
    content: &EventContent,
    notes: Option<&str>,
) -> Result<Appointment, BookError> {
    let owner = current.owner;
    let now = ctx.clock.now_ms();
    let mut tx = ctx.db.begin_write().await?;
    bookings_repo::lock_host(&mut tx, &owner).await?;
    let moved = content.starts_at != current.content.starts_at
        || content.ends_at != current.content.ends_at;
    if moved {
        check_free(&mut tx, &owner, content, Some(current.id)).await?;
    }
    repo::update(&mut *tx, &owner.tenant, current.id, content, notes, None)
        .await?
        .ok_or(BookError::NotFound)?;
    sync_export::queue_in(&mut tx, &owner.tenant, current.id, now).await?;
    tx.commit().await.map_err(DbError::from)?;
    tracing::info!(appointment = %current.id, "appointment changed");
    after_write(ctx, &owner, current.id).await
}

/// Settles a conflict: calbridge's version is written over the calendar's,
/// or the calendar's becomes the appointment.
pub async fn resolve(
    ctx: &Appointments,
    access: Access<'_>,
    id: AppointmentId,
    keep: Keep,
) -> Result<Appointment, BookError> {
    let one_at_a_time = ctx.sync_locks.lock(id.into()).await;
    let current = get(ctx, access, id).await?;
    let (Some(link), Some(calendar)) = (
        current
            .link
            .as_ref()
            .filter(|l| l.state == SyncState::Conflict),
        current
            .link
            .as_ref()
            .and_then(|l| l.calendar_version.clone()),
    ) else {
        return Err(invalid(
            "keep",
            "This appointment has no conflict to settle.",
        ));
    };
    let owner = current.owner;
    match keep {
        Keep::Calendar => {
            import::take_calendar(&ctx.db, &current, link, &calendar, link.etag.clone())
                .await
                .map_err(AppError::from)?
                .ok_or(BookError::NotFound)?;
            ctx.announce(&owner, id).await;
            get(ctx, access, id).await
        }
        Keep::Calbridge => {
            let now = ctx.clock.now_ms();
            let waiting = EventLink {
                state: SyncState::Pending,
                error: None,
                // The calendar's version the person overrode: seen again by
                // a sync it is no news, and calbridge's write follows.
                content_hash: sync_plan::content_hash(&calendar),
                // Kept while the calendar's side is a delete: the export
                // makes a new event instead of updating the deleted one.
                calendar_version: calendar.canceled.then_some(calendar),
                ..link.clone()
            };
            let mut tx = ctx.db.begin_write().await?;
            repo::save_link(&mut *tx, &owner.tenant, id, &waiting).await?;
            sync_export::queue_in(&mut tx, &owner.tenant, id, now).await?;
            tx.commit().await.map_err(DbError::from)?;
            // The inline export takes the lock.
            drop(one_at_a_time);
            after_write(ctx, &owner, id).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft<'a>(attendees: &'a [String]) -> Draft<'a> {
        Draft {
            title: Some(" Quarterly review "),
            start: Some(0),
            end: Some(3_600_000),
            attendees: Some(attendees),
            location: Some(Some("Room 4")),
            notes: Some(Some("Bring the numbers")),
        }
    }

    fn field_of(e: BookError) -> &'static str {
        match e {
            BookError::Invalid { field, .. } => field,
            other => panic!("not a field error: {other}"),
        }
    }

    #[test]
    fn a_create_needs_a_title_and_times_in_order() {
        let attendees = vec!["Ada@Example.com".to_owned()];
        let (content, notes) = checked(None, &draft(&attendees)).unwrap();
        assert_eq!(content.title, "Quarterly review");
        assert_eq!(content.attendees, vec!["ada@example.com"]);
        assert_eq!(notes.as_deref(), Some("Bring the numbers"));
        let missing = |d: Draft<'_>| field_of(checked(None, &d).unwrap_err());
        assert_eq!(
            missing(Draft {
                title: None,
                ..draft(&attendees)
            }),
            "title"
        );
        assert_eq!(
            missing(Draft {
                title: Some("  "),
                ..draft(&attendees)
            }),
            "title"
        );
        assert_eq!(
            missing(Draft {
                start: None,
                ..draft(&attendees)
            }),
            "start"
        );
        assert_eq!(
            missing(Draft {
                end: Some(0),
                ..draft(&attendees)
            }),
            "end"
        );
        assert_eq!(
            missing(Draft {
                end: Some(MAX_LENGTH_MS + 1),
                ..draft(&attendees)
            }),
            "end"
        );
        let bad = vec!["not an email".to_owned()];
        assert_eq!(missing(draft(&bad)), "attendees");
        let long = "x".repeat(201);
        assert_eq!(
            missing(Draft {
                title: Some(&long),
                ..draft(&attendees)
            }),
            "title"
        );
    }

    #[test]
    fn a_change_keeps_what_it_does_not_name_and_clears_what_it_nulls() {
        let attendees = vec!["ada@example.com".to_owned()];
        let (base, notes) = checked(None, &draft(&attendees)).unwrap();
        let moved = Draft {
            start: Some(7_200_000),
            end: Some(9_000_000),
            location: Some(None),
            ..Draft::default()
        };
        let (changed, kept_notes) = checked(Some((&base, notes.as_deref())), &moved).unwrap();
        assert_eq!(changed.title, base.title);
        assert_eq!(changed.attendees, base.attendees);
        assert_eq!((changed.starts_at, changed.ends_at), (7_200_000, 9_000_000));
        assert_eq!(changed.location, None);
        assert_eq!(kept_notes, notes);
        // A start moved past the kept end is refused.
        let past_end = Draft {
            start: Some(4_000_000),
            ..Draft::default()
        };
        assert_eq!(
            field_of(checked(Some((&base, None)), &past_end).unwrap_err()),
            "end"
        );
    }
}
