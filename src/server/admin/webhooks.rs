//! `/admin/webhooks`: every received delivery of the tenant, and Replay.

use super::Admin;
use crate::model::AuditAction;
use crate::model::{Provider, SyncTrigger, WebhookEventId, WebhookEventView};
use crate::server::audit::{self, Actor, Target};
use crate::server::auth::AdminCaller;
use crate::server::error::AppResult;
use crate::server::jobs::{Enqueue, Job, Queue};
use crate::server::platform::db::{self, webhook_events as repo, DbError};
use crate::server::providers;

const PAGE: i64 = 200;
/// Payloads longer than this are cut in the viewer.
const PAYLOAD_PREVIEW: usize = 8 * 1024;

fn pretty(payload: &str) -> String {
    let text = serde_json::from_str::<serde_json::Value>(payload)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| payload.to_owned());
    if text.len() > PAYLOAD_PREVIEW {
        let cut = (0..=PAYLOAD_PREVIEW)
            .rev()
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(0);
        format!("{}\n…", &text[..cut])
    } else {
        text
    }
}

pub async fn list(
    ctx: &Admin,
    admin: &AdminCaller,
    provider: Option<Provider>,
    result: Option<&str>,
    search: Option<&str>,
) -> AppResult<Vec<WebhookEventView>> {
    let rows = repo::list_for_tenant(
        ctx.db.pool(),
        admin.0.scope(),
        provider,
        result,
        search,
        PAGE,
    )
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(WebhookEventView {
                provider: r.provider.parse().map_err(DbError::Corrupt)?,
                latency_ms: r.processed_at.map(|p| p - r.received_at),
                received_at: db::ms_to_rfc3339(r.received_at),
                payload: r.payload.as_deref().map(pretty),
                id: db::parse_id(&r.id)?,
                event_type: r.event_type,
                user_email: r.user_email,
                dedupe_key: r.dedupe_key,
                result: r.result,
                detail: r.detail,
                duplicates: r.duplicates,
            })
        })
        .collect()
}

/// Processes a stored delivery again. Idempotent like every job: the
/// meeting ends as the provider holds it now.
pub async fn replay(ctx: &Admin, admin: &AdminCaller, id: WebhookEventId) -> AppResult<()> {
    let scope = admin.0.scope();
    let id = id.to_string();
    let mut tx = ctx.db.begin_write().await?;
    let replay = repo::requeue(&mut tx, scope, &id).await?;
    let job = if providers::api(replay.provider).deliveries_carry_changes() {
        Enqueue::now(Some(scope), Job::ProcessWebhook { event: id.clone() })
    } else {
        Enqueue::sync(scope, replay.connection, SyncTrigger::Webhook)
    };
    Queue::enqueue_in(&mut tx, &job).await?;
    audit::record(
        &mut *tx,
        scope,
        Actor::of(&admin.0),
        AuditAction::WebhookReplayed,
        Target::named(&id, replay.provider.label()),
        "",
    )
    .await?;
    tx.commit().await.map_err(DbError::from)?;
    ctx.jobs.wake();
    Ok(())
}
