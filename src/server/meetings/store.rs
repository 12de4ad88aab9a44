//! Writing meetings: idempotent upserts and cancellations, each change
//! published to the owner's live stream and counted in the sync run.

use super::Meetings;
use crate::model::{MeetingId, SyncAction};
use crate::server::jobs::JobError;
use crate::server::platform::db::connections::Connection;
use crate::server::platform::db::meetings::{self as repo, Upserted};
use crate::server::providers::{self, ProviderMeeting};
use crate::server::sync_runs::{Item, Run};

pub(super) async fn store(
    ctx: &Meetings,
    run: &mut Run,
    connection: &Connection,
    calendar_id: Option<&str>,
    mut meeting: ProviderMeeting,
    event_id: Option<&str>,
) -> Result<(), JobError> {
    providers::keep_safe_links(&mut meeting, ctx.local_link_origin.as_deref());
    let upserted = repo::upsert(
        &mut *ctx.db.writer().await?,
        &connection.owner,
        connection.id,
        &meeting,
        event_id,
    )
    .await?;
    let (action, id) = match upserted {
        Upserted::Inserted(id) => (SyncAction::Imported, id),
        Upserted::Updated(id) => (SyncAction::Updated, id),
        Upserted::Unchanged => return Ok(()),
    };
    run.note(
        action,
        Item {
            calendar_id,
            external_id: &meeting.provider_event_id,
            title: Some(&meeting.title),
            starts_at: Some(meeting.starts_at),
            detail: None,
        },
    );
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
