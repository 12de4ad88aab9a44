//! Change and lifecycle notifications to subscriptions.

use super::state::{Event, Subscription, TENANT_ID};
use super::wire::graph_ts;
use crate::core::delivery::{Outbound, Retry};
use crate::Provider;
use crate::{Sandbox, World};
use serde_json::json;

pub(super) fn is_active(world: &World, sub: &Subscription) -> bool {
    sub.expires > world.now()
}

/// Sends a change notification to every live subscription of the user that
/// asked for this change type.
pub(super) fn notify(sandbox: &Sandbox, world: &World, user_id: &str, event: &Event, change: &str) {
    let resource = format!("Users/{user_id}/Events/{}", event.id);
    for sub in world
        .microsoft
        .subscriptions
        .iter()
        .filter(|s| s.user_id == user_id && s.notifies(change) && is_active(world, s))
    {
        let body = json!({ "value": [{
            "subscriptionId": sub.id,
            "subscriptionExpirationDateTime": graph_ts(sub.expires),
            "changeType": change,
            "resource": resource,
            "resourceData": {
                "@odata.type": "#Microsoft.Graph.Event",
                "@odata.id": resource,
                "@odata.etag": event.etag(),
                "id": event.id,
            },
            "clientState": sub.client_state,
            "tenantId": TENANT_ID,
        }]});
        sandbox.deliveries().send(Outbound {
            provider: Provider::Microsoft,
            url: sub.notification_url.clone(),
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
            label: change.to_owned(),
            retry: Retry::Attempts(4),
            signer: None,
        });
    }
}

pub(super) fn send_lifecycle(sandbox: &Sandbox, sub: &Subscription, kind: &str) -> Option<u64> {
    let url = sub.lifecycle_url.clone()?;
    let body = json!({ "value": [{
        "subscriptionId": sub.id,
        "subscriptionExpirationDateTime": graph_ts(sub.expires),
        "lifecycleEvent": kind,
        "resource": sub.resource,
        "clientState": sub.client_state,
        "tenantId": TENANT_ID,
    }]});
    Some(sandbox.deliveries().send(Outbound {
        provider: Provider::Microsoft,
        url,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: body.to_string().into_bytes(),
        label: kind.to_owned(),
        retry: Retry::Attempts(4),
        signer: None,
    }))
}
