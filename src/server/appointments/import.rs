//! Takes the calendar's changes to an appointment's event from the change
//! feeds (Google incremental, Graph delta): a move, a rename, other
//! attendees or a delete flow back to the appointment, unless calbridge
//! changed it too — then the connection's policy decides, and `ask` queues
//! the pair for a person.

use crate::model::{AppointmentId, EventContent, SyncAction, SyncState};
use crate::server::jobs::JobError;
use crate::server::platform::db::appointments::{self as repo, Appointment, Direction, EventLink};
use crate::server::platform::db::connections::Connection;
use crate::server::platform::db::{now_ms, Db, DbError, DbResult};
use crate::server::platform::live::Live;
use crate::server::sync::plan::{content_hash, plan, Plan, Seen};
use crate::server::sync::runs::{Item, Run};

/// Makes the calendar's version the appointment's (only if the appointment
/// is still at the version read), and records that both agree. The new
/// version, or `None` when the appointment changed meanwhile.
pub async fn take_calendar(
    db: &Db,
    a: &Appointment,
    link: &EventLink,
    calendar: &EventContent,
    etag: Option<String>,
) -> DbResult<Option<i64>> {
    let scope = a.owner.tenant;
    let mut tx = db.begin_write().await?;
    let Some(version) = repo::update(
        &mut *tx,
        &scope,
        a.id,
        calendar,
        a.notes.as_deref(),
        Some(a.version),
    )
    .await?
    else {
        return Ok(None);
    };
    let agreed = EventLink {
        etag: etag.or(link.etag.clone()),
        content_hash: content_hash(calendar),
        synced_version: version,
        last_synced_at: now_ms(),
        direction: Direction::Import,
        state: SyncState::Synced,
        error: None,
        calendar_version: None,
        ..link.clone()
    };
    repo::save_link(&mut *tx, &scope, a.id, &agreed).await?;
    tx.commit().await.map_err(DbError::from)?;
    tracing::info!(appointment = %a.id, "appointment took the calendar's version");
    Ok(Some(version))
}

/// Applies what the feed saw of appointment `id`'s event.
pub async fn observe(
    db: &Db,
    live: &Live,
    run: &mut Run,
    connection: &Connection,
    id: AppointmentId,
    seen: Seen,
) -> Result<(), JobError> {
    let scope = connection.owner.tenant;
    let Some(a) = repo::get(db.pool(), &scope, id).await? else {
        return Ok(());
    };
    let Some(link) = a.link.clone().filter(|l| l.connection == connection.id) else {
        return Ok(());
    };
    let (calendar, etag) = match seen {
        Seen::Event(content, etag) => (content, etag),
        Seen::Removed => (
            EventContent {
                canceled: true,
                ..a.content.clone()
            },
            link.etag.clone(),
        ),
    };
    let note = |run: &mut Run, action: SyncAction, detail: Option<String>| {
        run.note(
            action,
            Item {
                calendar_id: Some(&link.calendar_id),
                external_id: &link.external_id,
                title: Some(&calendar.title),
                starts_at: Some(calendar.starts_at),
                detail,
            },
        );
    };
    if link.state == SyncState::Conflict {
        // Still for a person to settle; they see the calendar's latest.
        if link.calendar_version.as_ref() != Some(&calendar) {
            let waiting = EventLink {
                etag,
                calendar_version: Some(calendar.clone()),
                ..link.clone()
            };
            repo::save_link(&mut *db.writer().await?, &scope, id, &waiting).await?;
            note(
                run,
                SyncAction::Conflict,
                Some("changed again in the calendar".into()),
            );
        }
        return Ok(());
    }
    let local_changed = a.version > link.synced_version;
    let policy = repo::conflict_policy(db.pool(), &scope, connection.id).await?;
    match plan(
        &link.content_hash,
        &a.content,
        local_changed,
        &calendar,
        policy,
    ) {
        Plan::Nothing => {
            // An echo of calbridge's own write: keep the newest etag.
            if etag.is_some() && etag != link.etag {
                let current = EventLink {
                    etag,
                    ..link.clone()
                };
                repo::save_link(&mut *db.writer().await?, &scope, id, &current).await?;
            }
        }
        Plan::Export => {
            // Calbridge's change (or side) is still to be written: write it
            // now rather than when its retry comes. The write meets the
            // calendar's new etag with a 412 and decides again there.
            let mut tx = db.begin_write().await?;
            crate::server::sync::export::queue_at(&mut tx, &scope, id, now_ms()).await?;
            tx.commit().await.map_err(DbError::from)?;
        }
        Plan::Converged => {
            let agreed = EventLink {
                etag: etag.or(link.etag.clone()),
                content_hash: content_hash(&calendar),
                synced_version: a.version,
                last_synced_at: now_ms(),
                state: SyncState::Synced,
                error: None,
                ..link.clone()
            };
            repo::save_link(&mut *db.writer().await?, &scope, id, &agreed).await?;
        }
        Plan::Import => {
            if take_calendar(db, &a, &link, &calendar, etag)
                .await?
                .is_some()
            {
                let action = if calendar.canceled {
                    SyncAction::Deleted
                } else {
                    SyncAction::Updated
                };
                note(run, action, Some("changed in the calendar".into()));
                super::announce(db, live, &a.owner, id).await;
            }
        }
        Plan::Queue => {
            let waiting = EventLink {
                etag,
                state: SyncState::Conflict,
                error: None,
                calendar_version: Some(calendar.clone()),
                ..link.clone()
            };
            repo::save_link(&mut *db.writer().await?, &scope, id, &waiting).await?;
            note(
                run,
                SyncAction::Conflict,
                Some("changed on both sides".into()),
            );
            tracing::info!(appointment = %id, "both sides changed: queued for a person");
            super::announce(db, live, &a.owner, id).await;
        }
    }
    Ok(())
}
