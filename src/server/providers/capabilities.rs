//! The capabilities every provider implements besides OAuth and account
//! lookup: push subscriptions and the change feed. Their callers (the
//! connection and meeting services) hold no provider-specific code; what
//! differs between providers is said here, in types.

use super::{Created, ProviderError, ProviderHttp, ProviderMeeting};
use crate::model::SubscriptionId;
use crate::server::platform::vault::crypto::SecretString;

/// What one subscription, or one read of the change feed, covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coverage {
    /// The whole account (Calendly, Graph).
    Account,
    /// One calendar; there is one per calendar counted as busy (Google).
    BusyCalendar,
}

/// Where and for whom to subscribe.
pub struct SubscribeRequest<'a> {
    /// calbridge's id for the subscription (Google's channel id).
    pub id: SubscriptionId,
    /// The calendar watched, under [`Coverage::BusyCalendar`].
    pub calendar_id: Option<&'a str>,
    /// The connection's provider account id (Calendly user URI).
    pub account_id: &'a str,
    /// Calendly organization URI.
    pub organization: Option<&'a str>,
    /// The random id in the connection's own webhook URL.
    pub connection_public_id: &'a str,
    /// calbridge's public origin, under which the webhook paths lie.
    pub public_url: &'a str,
    /// What every notification must carry to be believed (signing key,
    /// channel token, clientState).
    pub secret: &'a SecretString,
    pub now_ms: i64,
}

impl SubscribeRequest<'_> {
    /// An absolute URL for one of calbridge's webhook paths.
    pub fn webhook_url(&self, path: &str) -> String {
        format!("{}{path}", self.public_url.trim_end_matches('/'))
    }
}

/// What subscribing gave.
#[derive(Debug)]
pub enum Subscribed {
    Created(Created),
    /// This account cannot have push notifications (Calendly's free plan):
    /// calbridge polls it instead.
    PushUnavailable,
}

/// A subscription calbridge holds, as the provider knows it.
pub struct HeldSubscription<'a> {
    pub external_id: &'a str,
    pub resource_id: Option<&'a str>,
}

/// What keeping a subscription alive needs.
#[derive(Debug, PartialEq, Eq)]
pub enum Renewal {
    /// Still live until `expires_at` (`None`: it does not expire).
    Extended { expires_at: Option<i64> },
    /// It cannot be extended, or the provider dropped it: subscribe again.
    Replace {
        /// The old one still delivers, so the new one is created first and
        /// the old one unsubscribed after (no gap). Otherwise it is gone
        /// already and is retired before its successor is created.
        old_still_open: bool,
        reason: &'static str,
    },
}

/// Push notifications: how calbridge learns that something changed.
#[async_trait::async_trait]
pub trait SubscriptionApi: Send + Sync {
    /// Asks the provider to notify calbridge of changes.
    async fn subscribe(
        &self,
        http: &ProviderHttp,
        token: &SecretString,
        request: &SubscribeRequest<'_>,
    ) -> Result<Subscribed, ProviderError>;

    /// Keeps a subscription alive; called before it expires (and daily for
    /// ones that do not).
    async fn renew(
        &self,
        http: &ProviderHttp,
        token: &SecretString,
        held: &HeldSubscription<'_>,
        now_ms: i64,
    ) -> Result<Renewal, ProviderError>;

    /// Ends a subscription; one already gone counts as ended.
    async fn unsubscribe(
        &self,
        http: &ProviderHttp,
        token: &SecretString,
        held: &HeldSubscription<'_>,
    ) -> Result<(), ProviderError>;
}

/// Which page of changes to read.
pub struct FeedRequest<'a> {
    pub account_id: &'a str,
    /// The calendar read, under [`Coverage::BusyCalendar`].
    pub calendar_id: Option<&'a str>,
    /// Where the last sync ended; `None` reads everything in the window.
    pub cursor: Option<&'a str>,
    /// The page to read next, from the previous page.
    pub page: Option<&'a str>,
    /// Unix ms: the span a read from scratch covers, where the provider
    /// needs one (Graph's calendar view).
    pub window: (i64, i64),
}

/// One page of changes.
#[derive(Default)]
pub struct ChangePage {
    pub meetings: Vec<ProviderMeeting>,
    /// Provider event ids of deleted events.
    pub removed: Vec<String>,
    /// More pages follow.
    pub next_page: Option<String>,
    /// On the last page: where the next sync starts (`None`: the provider
    /// has no cursors, every sync reads everything).
    pub cursor: Option<String>,
}

/// The change feed: every change since a cursor, page by page.
#[async_trait::async_trait]
pub trait ChangeFeed: Send + Sync {
    /// One page. A cursor the provider no longer accepts gives
    /// [`ProviderError::CursorExpired`]: start over without it.
    async fn changes(
        &self,
        http: &ProviderHttp,
        token: &SecretString,
        request: &FeedRequest<'_>,
    ) -> Result<ChangePage, ProviderError>;

    /// When a read without a cursor lists every live event under this prefix
    /// of provider event ids, so that a stored meeting it did not list was
    /// deleted meanwhile. `None`: reads are windowed or keep deletions as
    /// statuses, and nothing is inferred from absence.
    fn complete_listing_prefix(&self, calendar_id: Option<&str>) -> Option<String> {
        let _ = calendar_id;
        None
    }

    /// The provider event id a meeting read from `calendar_id`'s feed has
    /// for the provider's `event_id`.
    fn meeting_key(&self, calendar_id: Option<&str>, event_id: &str) -> String {
        let _ = calendar_id;
        event_id.to_owned()
    }
}

/// A 410 on a cursor read is both Google's and Graph's "start over".
pub(super) fn expired_cursor(e: ProviderError) -> ProviderError {
    match e {
        ProviderError::Rejected { status: 410, .. } => ProviderError::CursorExpired,
        other => other,
    }
}
