//! Writing meetings: idempotent upserts and cancellations, each change
//! published to the owner's live stream and counted in the sync run.

use super::Meetings;
use crate::model::{MeetingId, SyncAction};
use crate::server::jobs::JobError;
use crate::server::platform::db::connections::Connection;
use crate::server::platform::db::meetings::{self as repo, Upserted};
use crate::server::platform::db::DbError;
use crate::server::providers::{self, ProviderMeeting};
use crate::server::sync::runs::{Item, Run};

pub(super) async fn store(
    ctx: &Meetings,
    run: &mut Run,
    connection: &Connection,
    calendar_id: Option<&str>,
    meeting: ProviderMeeting,
    event_id: Option<&str>,
) -> Result<(), JobError> {
    store_all(ctx, run, connection, calendar_id, vec![meeting], event_id).await
}

/// Upserts a feed page's meetings in one write transaction (a first import
/// of thousands of events commits once a page, not once an event), then
/// tells the owner's open pages once.
pub(super) async fn store_all(
    ctx: &Meetings,
    run: &mut Run,
    connection: &Connection,
    calendar_id: Option<&str>,
    mut meetings: Vec<ProviderMeeting>,
    event_id: Option<&str>,
) -> Result<(), JobError> {
    if meetings.is_empty() {
        return Ok(());
    }
    let mut changed = Vec::new();
    let mut tx = ctx.db.begin_write().await?;
    for meeting in &mut meetings {
        providers::keep_safe_links(meeting, ctx.local_link_origin.as_deref());
        let upserted = repo::upsert(
            &mut *tx,
            &connection.owner,
            connection.id,
            meeting,
            event_id,
        )
        .await?;
        match upserted {
            Upserted::Inserted(id) => changed.push((SyncAction::Imported, id, &*meeting)),
            Upserted::Updated(id) => changed.push((SyncAction::Updated, id, &*meeting)),
            Upserted::Unchanged => {}
        }
    }
    tx.commit().await.map_err(DbError::from)?;
    for (action, _, meeting) in &changed {
        run.note(
            *action,
            Item {
                calendar_id,
                external_id: &meeting.provider_event_id,
                title: Some(&meeting.title),
                starts_at: Some(meeting.starts_at),
                detail: None,
            },
        );
    }
    if let Some((_, id, _)) = changed.last() {
        publish(ctx, connection, *id).await;
    }
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

pub(super) async fn cancel(
    ctx: &Meetings,
    run: &mut Run,
    connection: &Connection,
    calendar_id: Option<&str>,
    provider_event_id: &str,
) -> Result<(), JobError> {
    if let Some(canceled) = repo::mark_canceled(
        &mut *ctx.db.writer().await?,
        &connection.owner,
        connection.id,
        provider_event_id,
    )
    .await?
    {
        run.note(
            SyncAction::Deleted,
            Item {
                calendar_id,
                external_id: provider_event_id,
                title: Some(&canceled.title),
                starts_at: Some(canceled.starts_at),
                detail: None,
            },
        );
        publish(ctx, connection, canceled.id).await;
    }
    Ok(())
}
