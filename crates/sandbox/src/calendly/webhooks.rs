//! Webhook deliveries as Calendly makes them: signed with the
//! subscription's key, retried for the retry window while the subscription
//! stays active, and then the subscription is disabled.

use super::wire::{event_json, invitee_json, ts, user_uri};
use crate::core::delivery::{Outbound, RetriedSubscription, Retry, Signer};
use crate::Provider;
use crate::{Sandbox, World};
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

/// Webhook events a subscription can ask for.
pub const WEBHOOK_EVENTS: [&str; 4] = [
    "invitee.created",
    "invitee.canceled",
    "invitee_no_show.created",
    "invitee_no_show.deleted",
];

/// `Calendly-Webhook-Signature` for a body sent at unix time `t`:
/// `t=<t>,v1=<hex HMAC-SHA256(key, "{t}.{body}")>`.
pub fn signature_header(key: &str, t: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// What Calendly does once the retry window closes (and what the control
/// API can do at any time).
pub fn disable_subscription(world: &mut World, subscription_uuid: &str) {
    let now = world.now();
    if let Some(sub) = world
        .calendly
        .subscriptions
        .iter_mut()
        .find(|s| s.uuid == subscription_uuid)
    {
        sub.state = "disabled".to_owned();
        sub.updated_at = now;
        sub.retry_started_at.get_or_insert(now);
    }
}

/// Whether deliveries for this subscription should still be attempted (it
/// exists and is active): the deliverer stops retrying deliveries of
/// deleted or disabled subscriptions.
pub fn subscription_active(world: &World, subscription_uuid: &str) -> bool {
    world
        .calendly
        .subscriptions
        .iter()
        .any(|s| s.uuid == subscription_uuid && s.state == "active")
}

/// Deliveries of `event` about one invitee to every active subscription
/// that covers the invitee's host.
pub(super) fn notify(base: &str, world: &World, event: &str, invitee_uuid: &str) -> Vec<Outbound> {
    let Some(inv) = world.calendly.invitees.get(invitee_uuid) else {
        return Vec::new();
    };
    let Some(ev) = world.calendly.event(&inv.event) else {
        return Vec::new();
    };
    let host_org = world.calendly.org_of(&ev.host);
    let mut payload = invitee_json(base, inv);
    payload["scheduled_event"] = event_json(base, world, ev);
    let created_at = ts(world.now());
    world
        .calendly
        .subscriptions
        .iter()
        .filter(|sub| sub.state == "active" && sub.events.iter().any(|e| e == event))
        .filter(|sub| match sub.scope.as_str() {
            "user" => sub.user.as_deref().is_some_and(|u| ev.hosted_by(u)),
            _ => Some(sub.organization.as_str()) == host_org,
        })
        .map(|sub| {
            let body = json!({
                "event": event,
                "created_at": created_at,
                "created_by": user_uri(base, &sub.creator),
                "payload": payload,
            });
            Outbound {
                provider: Provider::Calendly,
                url: sub.callback_url.clone(),
                headers: vec![
                    ("Content-Type".to_owned(), "application/json".to_owned()),
                    ("User-Agent".to_owned(), "Calendly".to_owned()),
                ],
                body: serde_json::to_vec(&body).unwrap_or_default(),
                label: event.to_owned(),
                retry: Retry::Window(RetriedSubscription {
                    id: sub.uuid.clone(),
                    is_active: subscription_active,
                    disable: disable_subscription,
                }),
                signer: Some(Signer {
                    header: "Calendly-Webhook-Signature",
                    key: sub.signing_key.clone(),
                    sign: signature_header,
                }),
            }
        })
        .collect()
}

pub(super) fn dispatch(sandbox: &Sandbox, out: Vec<Outbound>) {
    for outbound in out {
        sandbox.deliveries().send(outbound);
    }
}
