//! Every secret the vault keeps, named by what it is and the row it belongs
//! to: the one place owner kinds and purposes are spelled. They are also the
//! associated data of each ciphertext, so a secret copied onto another row
//! does not decrypt.

use crate::model::{
    ApiKeyId, BookingId, ConnectionId, InviteId, OAuthAppId, Provider, SubscriptionId,
};
use crate::server::platform::db::vault::SecretOwner;

/// The row that owns secrets; deleting it forgets all of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Holder {
    Connection(ConnectionId),
    Subscription(SubscriptionId),
    /// A pending OAuth state, by the hash of its value.
    OAuthState(String),
    OAuthApp(OAuthAppId),
    Invite(InviteId),
    Booking(BookingId),
    ApiKey(ApiKeyId),
}

impl Holder {
    pub fn kind(&self) -> &'static str {
        match self {
            Holder::Connection(_) => "connection",
            Holder::Subscription(_) => "subscription",
            Holder::OAuthState(_) => "oauth_state",
            Holder::OAuthApp(_) => "oauth_app",
            Holder::Invite(_) => "invite",
            Holder::Booking(_) => "booking",
            Holder::ApiKey(_) => "api_key",
        }
    }

    pub fn id(&self) -> String {
        match self {
            Holder::Connection(id) => id.to_string(),
            Holder::Subscription(id) => id.to_string(),
            Holder::OAuthState(hash) => hash.clone(),
            Holder::OAuthApp(id) => id.to_string(),
            Holder::Invite(id) => id.to_string(),
            Holder::Booking(id) => id.to_string(),
            Holder::ApiKey(id) => id.to_string(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Secret {
    AccessToken(ConnectionId),
    RefreshToken(ConnectionId),
    /// The PKCE verifier of a pending OAuth state (by its hash).
    PkceVerifier(String),
    /// What a provider's notifications must carry: the Calendly signing
    /// key, the Google channel token or the Graph `clientState`.
    NotificationSecret(SubscriptionId, Provider),
    OAuthClientSecret(OAuthAppId),
    /// The token of an invite's sign-up link.
    InviteLink(InviteId),
    /// The token of a booking's manage link, so a repeated request (same
    /// idempotency key) gets the same link back.
    ManageLink(BookingId),
    /// A new API key, kept only until its creator's next look at the keys
    /// page (and at most [`API_KEY_REVEAL_MS`]).
    ApiKeyReveal(ApiKeyId),
}

/// How long a new API key stays retrievable for the admin who made it.
pub const API_KEY_REVEAL_MS: i64 = 10 * 60 * 1000;

impl Secret {
    pub fn holder(&self) -> Holder {
        match self {
            Secret::AccessToken(id) | Secret::RefreshToken(id) => Holder::Connection(*id),
            Secret::PkceVerifier(hash) => Holder::OAuthState(hash.clone()),
            Secret::NotificationSecret(id, _) => Holder::Subscription(*id),
            Secret::OAuthClientSecret(id) => Holder::OAuthApp(*id),
            Secret::InviteLink(id) => Holder::Invite(*id),
            Secret::ManageLink(id) => Holder::Booking(*id),
            Secret::ApiKeyReveal(id) => Holder::ApiKey(*id),
        }
    }

    pub fn purpose(&self) -> &'static str {
        match self {
            Secret::AccessToken(_) => "access_token",
            Secret::RefreshToken(_) => "refresh_token",
            Secret::PkceVerifier(_) => "pkce_verifier",
            Secret::NotificationSecret(_, Provider::Calendly) => "signing_key",
            Secret::NotificationSecret(_, Provider::Google) => "channel_token",
            Secret::NotificationSecret(_, Provider::Microsoft) => "client_state",
            Secret::OAuthClientSecret(_) => "client_secret",
            Secret::InviteLink(_) => "link_token",
            Secret::ManageLink(_) => "manage_token",
            Secret::ApiKeyReveal(_) => "reveal",
        }
    }

    /// The storage form, borrowing `id` (see [`Holder::id`]).
    pub(super) fn owner<'a>(&self, id: &'a str) -> SecretOwner<'a> {
        SecretOwner {
            kind: self.holder().kind(),
            id,
            purpose: self.purpose(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_stay_what_existing_ciphertexts_were_bound_to() {
        let connection = ConnectionId(uuid::Uuid::now_v7());
        let subscription = SubscriptionId(uuid::Uuid::now_v7());
        let cases = [
            (
                Secret::AccessToken(connection),
                "connection",
                "access_token",
            ),
            (
                Secret::RefreshToken(connection),
                "connection",
                "refresh_token",
            ),
            (
                Secret::PkceVerifier("h".into()),
                "oauth_state",
                "pkce_verifier",
            ),
            (
                Secret::NotificationSecret(subscription, Provider::Calendly),
                "subscription",
                "signing_key",
            ),
            (
                Secret::NotificationSecret(subscription, Provider::Google),
                "subscription",
                "channel_token",
            ),
            (
                Secret::NotificationSecret(subscription, Provider::Microsoft),
                "subscription",
                "client_state",
            ),
            (
                Secret::OAuthClientSecret(OAuthAppId(uuid::Uuid::now_v7())),
                "oauth_app",
                "client_secret",
            ),
            (
                Secret::InviteLink(InviteId(uuid::Uuid::now_v7())),
                "invite",
                "link_token",
            ),
            (
                Secret::ManageLink(BookingId(uuid::Uuid::now_v7())),
                "booking",
                "manage_token",
            ),
            (
                Secret::ApiKeyReveal(ApiKeyId(uuid::Uuid::now_v7())),
                "api_key",
                "reveal",
            ),
        ];
        for (secret, kind, purpose) in cases {
            let id = secret.holder().id();
            let owner = secret.owner(&id);
            assert_eq!((owner.kind, owner.purpose), (kind, purpose), "{secret:?}");
        }
        assert_eq!(Holder::Connection(connection).id(), connection.to_string());
    }
}
