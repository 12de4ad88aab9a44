//! The providers behind one interface. Each provider lives in its own
//! folder (wire formats, calls, subscription calls, webhook verification);
//! this module holds the capability traits they implement, the registry,
//! and what they share: the one HTTP client ([`client`]), the OAuth flow
//! ([`oauth`]), and the rules for URLs that come from providers. Nothing
//! here touches the database.

pub mod calendly;
mod capabilities;
pub mod client;
pub mod google;
pub mod microsoft;
pub mod oauth;

pub use crate::model::ProviderMeeting;
pub use crate::server::platform::endpoints::{BaseUrls, Endpoints, ProviderEndpoints};
pub use capabilities::{
    ChangeFeed, ChangePage, Coverage, FeedRequest, HeldSubscription, Renewal, SubscribeRequest,
    Subscribed, SubscriptionApi,
};
pub use client::{ProviderError, ProviderHttp};

use crate::model::{EventContent, Provider};
use crate::server::platform::vault::crypto::SecretString;
use serde_json::Value;

/// The provider account behind a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderAccount {
    /// Stable id webhooks route by: Calendly user URI, Google `sub`, Graph user id.
    pub id: String,
    pub email: String,
    pub name: String,
    /// Calendly organization URI.
    pub organization: Option<String>,
}

/// One calendar of an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderCalendar {
    pub id: String,
    pub name: String,
    pub primary: bool,
    pub writable: bool,
}

/// A subscription as the provider reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Created {
    /// Calendly subscription URI, Google channel id or Graph subscription id.
    pub external_id: String,
    /// Google's `resourceId`, needed to stop the channel.
    pub resource_id: Option<String>,
    /// Unix ms; Calendly subscriptions do not expire.
    pub expires_at: Option<i64>,
}

/// How a provider's token endpoint authenticates OAuth clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// HTTP Basic with the client id and secret (Calendly).
    Basic,
    /// `client_id` and `client_secret` form fields (Google, Microsoft).
    RequestBody,
}

/// What every provider offers: OAuth (the shared flow in [`oauth`] with
/// these parameters), account lookup, push subscriptions and the change
/// feed; calendar providers add [`CalendarApi`].
#[async_trait::async_trait]
pub trait ProviderApi: Send + Sync {
    fn provider(&self) -> Provider;
    /// What one subscription and one read of the change feed cover.
    fn coverage(&self) -> Coverage;
    fn subscriptions(&self) -> &dyn SubscriptionApi;
    fn change_feed(&self) -> &dyn ChangeFeed;
    /// The scopes calbridge asks for.
    fn scopes(&self) -> &'static [&'static str];
    fn client_auth(&self) -> ClientAuth;
    /// Extra query parameters of the authorization URL.
    fn authorize_params(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }
    /// Whether a webhook delivery holds the change itself (Calendly), so
    /// processing the stored delivery replays it. Otherwise a delivery only
    /// says that something changed, and the change feed is read.
    fn deliveries_carry_changes(&self) -> bool {
        false
    }
    /// Who the access token belongs to.
    async fn account(
        &self,
        http: &ProviderHttp,
        token: &SecretString,
    ) -> Result<ProviderAccount, ProviderError>;
    /// The calendar capability, for providers that hold calendars.
    fn calendars(&self) -> Option<&dyn CalendarApi> {
        None
    }
}

/// What calendar providers (Google, Microsoft) add.
#[async_trait::async_trait]
pub trait CalendarApi: Send + Sync {
    /// The account's calendars.
    async fn list_calendars(
        &self,
        http: &ProviderHttp,
        token: &SecretString,
    ) -> Result<Vec<ProviderCalendar>, ProviderError>;

    /// The busy time of the account's calendars over `[from, to)`, read
    /// live (Google `freeBusy`, Graph `getSchedule`).
    async fn busy(
        &self,
        http: &ProviderHttp,
        token: &SecretString,
        query: &BusyQuery<'_>,
    ) -> Result<Vec<CalendarBusy>, ProviderError>;

    /// Creates the event with its attendees (the provider mails them the
    /// invitation) and, if asked, its Meet or Teams link. Safe to repeat:
    /// the same `draft.key` finds the event an earlier try made (Google: the
    /// event id derived from it; Graph: `transactionId`).
    async fn create_event(
        &self,
        http: &ProviderHttp,
        token: &SecretString,
        draft: &EventDraft<'_>,
    ) -> Result<CalendarEvent, ProviderError>;

    async fn get_event(
        &self,
        http: &ProviderHttp,
        token: &SecretString,
        calendar_id: &str,
        event_id: &str,
    ) -> Result<CalendarEvent, ProviderError>;

    /// Moves the event to `[start, end)` (unix ms), while it still has the
    /// etag `if_match`; attendees are told.
    async fn move_event(
        &self,
        http: &ProviderHttp,
        token: &SecretString,
        at: &EventRef<'_>,
        start: i64,
        end: i64,
        if_match: Option<&str>,
    ) -> Result<CalendarEvent, ProviderError>;

    /// Rewrites the event's title, description, times, attendees and
    /// location (attendees are told); with `if_match`, only while the event
    /// still has that etag: a newer version answers
    /// `ProviderError::Rejected { status: 412 }`.
    async fn update_event(
        &self,
        http: &ProviderHttp,
        token: &SecretString,
        at: &EventRef<'_>,
        draft: &EventDraft<'_>,
        if_match: Option<&str>,
    ) -> Result<CalendarEvent, ProviderError>;

    /// Deletes (cancels) the event; attendees are told. Gone already is
    /// done. With `if_match`, only while the event still has that etag.
    async fn delete_event(
        &self,
        http: &ProviderHttp,
        token: &SecretString,
        at: &EventRef<'_>,
        if_match: Option<&str>,
    ) -> Result<(), ProviderError>;
}

/// An event calbridge writes to a calendar.
pub struct EventDraft<'a> {
    /// Stable for what the event stands for (a booking's id): what makes
    /// a repeated create find the first one.
    pub key: &'a str,
    pub calendar_id: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    /// Unix ms.
    pub start: i64,
    pub end: i64,
    /// (name, email).
    pub attendees: &'a [(&'a str, &'a str)],
    pub location: Option<&'a str>,
    /// A Meet (Google) or Teams (Graph) link with it.
    pub online_meeting: bool,
}

/// Which event, where.
pub struct EventRef<'a> {
    pub calendar_id: &'a str,
    pub event_id: &'a str,
}

/// An event as the provider keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalendarEvent {
    pub id: String,
    pub etag: Option<String>,
    /// The Meet or Teams link, `https:` only.
    pub join_url: Option<String>,
    /// The conference is still being created (Google `pending`): read the
    /// event again for its link.
    pub conference_pending: bool,
    /// What two-way sync compares; `None` when the event's times cannot be
    /// read.
    pub content: Option<EventContent>,
    /// The provider's page for the event, `https:` only.
    pub link: Option<String>,
}

/// Whose busy time to read, and when (unix ms).
pub struct BusyQuery<'a> {
    /// The account's address (Graph reads a mailbox's schedule).
    pub mailbox: &'a str,
    pub calendars: &'a [String],
    pub from: i64,
    pub to: i64,
}

/// One calendar's busy spans; `None` when the provider could not read it
/// (an error for that calendar inside a successful answer).
pub struct CalendarBusy {
    pub calendar_id: String,
    pub busy: Option<Vec<(i64, i64)>>,
}

/// RFC 3339 in UTC, as the providers take instants.
fn utc_stamp(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The registry: one line per provider.
pub fn api(provider: Provider) -> &'static dyn ProviderApi {
    match provider {
        Provider::Calendly => &calendly::Calendly,
        Provider::Google => &google::Google,
        Provider::Microsoft => &microsoft::Microsoft,
    }
}

/// Deleting something already gone is what deleting wanted.
fn ok_if_gone(result: Result<Value, ProviderError>) -> Result<(), ProviderError> {
    match result {
        Ok(_) => Ok(()),
        // Already gone: what deleting wanted.
        Err(ProviderError::Rejected {
            status: 404 | 410, ..
        }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// One path segment, percent-encoded (ids from providers go into URLs).
fn path_segment(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes()).collect()
}

/// Drops every link of `meeting` that may not become an `href` (see
/// [`safe_link`]).
pub fn keep_safe_links(meeting: &mut ProviderMeeting, local_origin: Option<&str>) {
    for link in [
        &mut meeting.join_url,
        &mut meeting.cancel_url,
        &mut meeting.reschedule_url,
    ] {
        *link = link.take().and_then(|l| safe_link(&l, local_origin));
    }
}

/// Checks that `candidate` lies under `api_base`: same scheme, host and port,
/// and a path inside the base's path. The check runs on the parsed,
/// normalised URL, so dot segments (also percent-encoded ones) cannot climb
/// out of the prefix; URLs carrying credentials are refused too.
pub fn pin_under(base: &url::Url, candidate: &str) -> Result<url::Url, ProviderError> {
    let untrusted = || ProviderError::UntrustedUrl(candidate.chars().take(200).collect());
    let url = url::Url::parse(candidate).map_err(|_| untrusted())?;
    let prefix = base.path().trim_end_matches('/');
    let path = url.path();
    let inside = path == prefix || path.starts_with(&format!("{prefix}/"));
    let same_origin = url.scheme() == base.scheme()
        && url.host() == base.host()
        && url.port_or_known_default() == base.port_or_known_default();
    if same_origin && inside && url.username().is_empty() && url.password().is_none() {
        Ok(url)
    } else {
        Err(untrusted())
    }
}

/// Whether a link from provider data may become an `href`: `https:` always,
/// `http:` only on `local_origin` (the sandbox's own, in dev). Everything
/// else (`javascript:`, `data:`, plain text) is dropped.
pub fn safe_link(link: &str, local_origin: Option<&str>) -> Option<String> {
    let url = url::Url::parse(link.trim()).ok()?;
    let allowed = match url.scheme() {
        "https" => url.host().is_some(),
        "http" => local_origin.is_some_and(|o| url.origin().ascii_serialization() == o),
        _ => false,
    };
    allowed.then(|| url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pin(base: &str, candidate: &str) -> Result<url::Url, ProviderError> {
        pin_under(&url::Url::parse(base).unwrap(), candidate)
    }

    #[test]
    fn only_urls_under_the_api_base_are_followed() {
        let base = "https://api.calendly.com";
        let ok = [
            "https://api.calendly.com/scheduled_events/E/invitees/I",
            "https://api.calendly.com:443/users/me",
            "https://API.calendly.com/x?page_token=abc",
        ];
        for url in ok {
            assert!(pin(base, url).is_ok(), "{url}");
        }
        let graph = "https://graph.microsoft.com/v1.0";
        assert!(pin(
            graph,
            "https://graph.microsoft.com/v1.0/me/calendarView/delta?$deltatoken=x"
        )
        .is_ok());
        let refused = [
            (base, "http://api.calendly.com/users/me"),
            (base, "https://api.calendly.com.evil.test/users/me"),
            (base, "https://evil.test/api.calendly.com/users/me"),
            (base, "https://api.calendly.com:8443/users/me"),
            (base, "https://user:pw@api.calendly.com/users/me"),
            (base, "//evil.test/x"),
            (base, "/users/me"),
            (base, "javascript:alert(1)"),
            (base, ""),
            (graph, "https://graph.microsoft.com/beta/me"),
            (graph, "https://graph.microsoft.com/v1.0/../beta/me"),
            (graph, "https://graph.microsoft.com/v1.0/%2e%2e/beta/me"),
            (graph, "https://graph.microsoft.com/v1.00/me"),
            (graph, "https://graph.microsoft.com"),
            (
                "http://127.0.0.1:3000/sandbox/calendly",
                "http://127.0.0.1:3001/sandbox/calendly/x",
            ),
            (
                "http://127.0.0.1:3000/sandbox/calendly",
                "http://127.0.0.1:3000/sandbox/google/x",
            ),
            (
                "http://127.0.0.1:3000/sandbox/calendly",
                "http://localhost:3000/sandbox/calendly/x",
            ),
        ];
        for (base, url) in refused {
            assert!(
                matches!(pin(base, url), Err(ProviderError::UntrustedUrl(_))),
                "{url} under {base}"
            );
        }
    }

    #[test]
    fn only_https_links_or_the_sandbox_origin_become_links() {
        let local = Some("http://127.0.0.1:3000");
        assert_eq!(
            safe_link("https://meet.google.com/abc-defg-hij", None).as_deref(),
            Some("https://meet.google.com/abc-defg-hij")
        );
        assert!(safe_link("http://127.0.0.1:3000/sandbox/meet/x", local).is_some());
        for bad in [
            "javascript:alert(1)",
            " javascript:alert(1)",
            "JAVASCRIPT:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:x",
            "http://meet.example.com/x",
            "http://127.0.0.1:3001/x",
            "Room 4",
            "//evil.test/x",
            "",
        ] {
            assert_eq!(safe_link(bad, local), None, "{bad}");
        }
        assert_eq!(safe_link("http://127.0.0.1:3000/x", None), None);
    }

    #[test]
    fn deleting_something_already_gone_succeeds() {
        let gone = |status| {
            Err(ProviderError::Rejected {
                status,
                message: String::new(),
            })
        };
        assert!(ok_if_gone(gone(404)).is_ok());
        assert!(ok_if_gone(gone(410)).is_ok());
        assert!(ok_if_gone(gone(500)).is_err());
    }

    #[test]
    fn every_provider_is_registered_under_its_own_name() {
        for provider in Provider::ALL {
            assert_eq!(api(provider).provider(), provider);
        }
        assert!(api(Provider::Calendly).calendars().is_none());
        assert_eq!(api(Provider::Calendly).coverage(), Coverage::Account);
        assert_eq!(api(Provider::Google).coverage(), Coverage::BusyCalendar);
        assert_eq!(api(Provider::Microsoft).coverage(), Coverage::Account);
        assert!(api(Provider::Google).calendars().is_some());
        assert!(api(Provider::Microsoft).calendars().is_some());
    }
}
