//! Graph change and lifecycle notifications: a JSON body `{"value": [...]}`
//! with a few notifications, each carrying the subscription's
//! `clientState`; and the validation handshake. Pure.

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

/// One notification of a batch.
pub struct Notification<'a>(pub &'a Value);

impl<'a> Notification<'a> {
    fn text(&self, key: &str) -> Option<&'a str> {
        self.0.get(key).and_then(Value::as_str)
    }

    pub fn subscription_id(&self) -> Option<&'a str> {
        self.text("subscriptionId")
    }

    pub fn client_state(&self) -> Option<&'a str> {
        self.text("clientState")
    }

    /// `created`, `updated`, `deleted`; `lifecycleEvent`'s value on the
    /// lifecycle channel.
    pub fn event_type(&self, channel: Channel) -> &'a str {
        match channel {
            Channel::Changes => self.text("changeType").unwrap_or("changed"),
            Channel::Lifecycle => self.text("lifecycleEvent").unwrap_or("unknown"),
        }
    }

    pub fn lifecycle(&self) -> Lifecycle {
        match self.text("lifecycleEvent") {
            Some("reauthorizationRequired") => Lifecycle::ReauthorizationRequired,
            Some("subscriptionRemoved") => Lifecycle::SubscriptionRemoved,
            _ => Lifecycle::CatchUp,
        }
    }

    /// The same notification delivered twice has the same key; a later
    /// change of the same event (new etag) has another.
    pub fn dedupe_key(&self, channel: Channel) -> String {
        let subscription = self.subscription_id().unwrap_or("?");
        let expiration = self.text("subscriptionExpirationDateTime");
        let event_type = self.event_type(channel);
        match channel {
            Channel::Changes => {
                let data = &self.0["resourceData"];
                format!(
                    "{subscription}|{}|{event_type}|{}",
                    data["id"].as_str().unwrap_or("?"),
                    data["@odata.etag"].as_str().or(expiration).unwrap_or("?")
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
        let mut redacted = self.0.clone();
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
        let a = Notification(&first).dedupe_key(Channel::Changes);
        assert_eq!(a, "s|e|updated|W/\"1\"");
        assert_eq!(a, Notification(&first.clone()).dedupe_key(Channel::Changes));
        assert_ne!(a, Notification(&later).dedupe_key(Channel::Changes));
    }

    #[test]
    fn lifecycle_events_name_what_to_do() {
        let n = |event: &str| json!({"subscriptionId": "s", "lifecycleEvent": event});
        let reauth = n("reauthorizationRequired");
        assert_eq!(
            Notification(&reauth).lifecycle(),
            Lifecycle::ReauthorizationRequired
        );
        let removed = n("subscriptionRemoved");
        assert_eq!(
            Notification(&removed).lifecycle(),
            Lifecycle::SubscriptionRemoved
        );
        for other in ["missed", "somethingNew"] {
            let v = n(other);
            assert_eq!(Notification(&v).lifecycle(), Lifecycle::CatchUp);
            assert_eq!(Notification(&v).event_type(Channel::Lifecycle), other);
        }
    }

    #[test]
    fn the_client_state_is_never_kept() {
        let v = json!({"subscriptionId": "s", "clientState": "secret"});
        let n = Notification(&v);
        assert_eq!(n.client_state(), Some("secret"));
        assert!(!n.redacted().to_string().contains("secret"));
    }
}
