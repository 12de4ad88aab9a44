//! Writing meetings: idempotent upserts and cancellations, each change
//! published to the owner's live stream.

use super::Meetings;
use crate::model::MeetingId;
use crate::server::jobs::JobError;
use crate::server::platform::db::connections::Connection;
use crate::server::platform::db::meetings as repo;
use crate::server::providers::{self, ProviderMeeting};

pub(super) async fn store(
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

pub(super) async fn cancel(
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
