//! Graph change and lifecycle notifications: a JSON body `{"value": [...]}`
//! with a few notifications, each carrying the subscription's
//! `clientState`; and the validation handshake. Pure.

use super::wire;
use serde::Deserialize;
use serde_json::Value;

/// Graph batches a few notifications per request; a batch this large is
/// not Graph, and verifying each item would cost a lookup.
pub const MAX_BATCH_ITEMS: usize = 100;

/// Graph's validation tokens are a sentence long; anything huge is not Graph.
pub const MAX_VALIDATION_TOKEN: usize = 1024;

/// Which URL the batch came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    Changes,
    Lifecycle,
}

/// Why a body is not a Graph notification batch.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("not a Graph notification body")]
    NotGraph,
    #[error("more notifications in one batch than Graph sends")]
    TooLarge,
}

/// The notifications of one request body.
pub fn batch(body: &[u8]) -> Result<Vec<Value>, BatchError> {
    let items = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|mut v| match v.get_mut("value").map(Value::take) {
            Some(Value::Array(items)) => Some(items),
            _ => None,
        })
        .ok_or(BatchError::NotGraph)?;
    if items.len() > MAX_BATCH_ITEMS {
        return Err(BatchError::TooLarge);
    }
    Ok(items)
}

/// What a lifecycle notification asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lifecycle {
    /// Renewing by PATCH with a fresh token reauthorizes.
    ReauthorizationRequired,
    /// The subscription is gone: subscribe again.
    SubscriptionRemoved,
    /// `missed` (and anything new): catch up with the change feed.
    CatchUp,
}

/// One notification of a batch: what calbridge reads of it, and the JSON
/// it came as (stored, without its secret).
pub struct Notification<'a> {
    raw: &'a Value,
    fields: wire::Notification,
}

impl<'a> Notification<'a> {
    /// Reads one item of a batch; an item that is not a notification reads
    /// as one without any field (and is refused for its missing
    /// subscription).
    pub fn of(raw: &'a Value) -> Self {
        Notification {
            raw,
            fields: wire::Notification::deserialize(raw).unwrap_or_default(),
        }
    }

    pub fn subscription_id(&self) -> Option<&str> {
        self.fields.subscription_id.as_deref()
    }

    pub fn client_state(&self) -> Option<&str> {
        self.fields.client_state.as_deref()
    }

    /// `created`, `updated`, `deleted`; `lifecycleEvent`'s value on the
    /// lifecycle channel.
    pub fn event_type(&self, channel: Channel) -> &str {
        match channel {
            Channel::Changes => self.fields.change_type.as_deref().unwrap_or("changed"),
            Channel::Lifecycle => self.fields.lifecycle_event.as_deref().unwrap_or("unknown"),
        }
    }

    pub fn lifecycle(&self) -> Lifecycle {
        match self.fields.lifecycle_event.as_deref() {
            Some("reauthorizationRequired") => Lifecycle::ReauthorizationRequired,
            Some("subscriptionRemoved") => Lifecycle::SubscriptionRemoved,
            _ => Lifecycle::CatchUp,
        }
    }

    /// The same notification delivered twice has the same key; a later
    /// change of the same event (new etag) has another.
    pub fn dedupe_key(&self, channel: Channel) -> String {
        let subscription = self.subscription_id().unwrap_or("?");
        let expiration = self.fields.subscription_expiration_date_time.as_deref();
        let event_type = self.event_type(channel);
        match channel {
            Channel::Changes => {
                let data = self.fields.resource_data.as_ref();
                format!(
                    "{subscription}|{}|{event_type}|{}",
                    data.and_then(|d| d.id.as_deref()).unwrap_or("?"),
                    data.and_then(|d| d.etag.as_deref())
                        .or(expiration)
                        .unwrap_or("?")
                )
            }
            Channel::Lifecycle => {
                format!("{subscription}|{event_type}|{}", expiration.unwrap_or("?"))
            }
        }
    }

    /// The notification as it may be stored: without the clientState,
    /// which is a secret.
    pub fn redacted(&self) -> Value {
        let mut redacted = self.raw.clone();
        if let Some(o) = redacted.as_object_mut() {
            o.remove("clientState");
        }
        redacted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_batch_is_the_value_array() {
        let body = json!({"value": [{"subscriptionId": "s"}, {"subscriptionId": "t"}]});
        assert_eq!(batch(body.to_string().as_bytes()).unwrap().len(), 2);
        assert_eq!(batch(b"{}"), Err(BatchError::NotGraph));
        assert_eq!(batch(b"{\"value\": 3}"), Err(BatchError::NotGraph));
        assert_eq!(batch(b"not json"), Err(BatchError::NotGraph));
        let huge = json!({"value": vec![json!({}); MAX_BATCH_ITEMS + 1]});
        assert_eq!(
            batch(huge.to_string().as_bytes()),
            Err(BatchError::TooLarge)
        );
    }

    #[test]
    fn change_keys_follow_the_etag() {
        let first = json!({"subscriptionId": "s", "changeType": "updated",
            "resourceData": {"id": "e", "@odata.etag": "W/\"1\""}});
        let later = json!({"subscriptionId": "s", "changeType": "updated",
            "resourceData": {"id": "e", "@odata.etag": "W/\"2\""}});
        let a = Notification::of(&first).dedupe_key(Channel::Changes);
        assert_eq!(a, "s|e|updated|W/\"1\"");
        assert_eq!(
            a,
            Notification::of(&first.clone()).dedupe_key(Channel::Changes)
        );
        assert_ne!(a, Notification::of(&later).dedupe_key(Channel::Changes));
    }

    #[test]
    fn lifecycle_events_name_what_to_do() {
        let n = |event: &str| json!({"subscriptionId": "s", "lifecycleEvent": event});
        let reauth = n("reauthorizationRequired");
        assert_eq!(
            Notification::of(&reauth).lifecycle(),
            Lifecycle::ReauthorizationRequired
        );
        let removed = n("subscriptionRemoved");
        assert_eq!(
            Notification::of(&removed).lifecycle(),
            Lifecycle::SubscriptionRemoved
        );
        for other in ["missed", "somethingNew"] {
            let v = n(other);
            assert_eq!(Notification::of(&v).lifecycle(), Lifecycle::CatchUp);
            assert_eq!(Notification::of(&v).event_type(Channel::Lifecycle), other);
        }
    }

    #[test]
    fn the_client_state_is_never_kept() {
        let v = json!({"subscriptionId": "s", "clientState": "secret"});
        let n = Notification::of(&v);
        assert_eq!(n.client_state(), Some("secret"));
        assert!(!n.redacted().to_string().contains("secret"));
    }
}
