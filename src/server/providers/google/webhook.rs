//! Watch-channel notifications: an empty body, and `X-Goog-*` headers that
//! name the channel, carry its token and number the message. Pure.

/// The headers of one notification.
pub struct Notification<'a> {
    pub channel_id: Option<&'a str>,
    pub channel_token: Option<&'a str>,
    pub resource_state: Option<&'a str>,
    pub message_number: Option<&'a str>,
}

impl<'a> Notification<'a> {
    /// Reads the headers through `header(name)` (names in lower case).
    pub fn from_headers(header: impl Fn(&str) -> Option<&'a str>) -> Self {
        Notification {
            channel_id: header("x-goog-channel-id"),
            channel_token: header("x-goog-channel-token"),
            resource_state: header("x-goog-resource-state"),
            message_number: header("x-goog-message-number"),
        }
    }

    /// The channel and resource state every notification carries; `None`
    /// when this is not a Google notification.
    pub fn routing(&self) -> Option<(&'a str, &'a str)> {
        Some((self.channel_id?, self.resource_state?))
    }

    /// Sent once when the channel opens; announces no change.
    pub fn is_sync_handshake(&self) -> bool {
        self.resource_state == Some("sync")
    }

    /// The same message delivered twice has the same key.
    pub fn dedupe_key(&self) -> String {
        format!(
            "{}|{}",
            self.channel_id.unwrap_or("?"),
            self.message_number.unwrap_or("?")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers<'a>(pairs: &'a [(&'a str, &'a str)]) -> Notification<'a> {
        Notification::from_headers(|name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| *v))
    }

    #[test]
    fn a_notification_is_read_from_its_headers() {
        let n = headers(&[
            ("x-goog-channel-id", "ch-1"),
            ("x-goog-channel-token", "tok"),
            ("x-goog-resource-state", "exists"),
            ("x-goog-message-number", "7"),
        ]);
        assert_eq!(n.routing(), Some(("ch-1", "exists")));
        assert_eq!(n.channel_token, Some("tok"));
        assert!(!n.is_sync_handshake());
        assert_eq!(n.dedupe_key(), "ch-1|7");
    }

    #[test]
    fn without_channel_or_state_it_is_not_a_notification() {
        assert_eq!(headers(&[("x-goog-channel-id", "ch-1")]).routing(), None);
        assert_eq!(
            headers(&[("x-goog-resource-state", "exists")]).routing(),
            None
        );
    }

    #[test]
    fn the_opening_sync_message_is_a_handshake() {
        let n = headers(&[
            ("x-goog-channel-id", "c"),
            ("x-goog-resource-state", "sync"),
        ]);
        assert!(n.is_sync_handshake());
    }
}
