//! Every path the UI links or posts to, defined once: page links, form
//! actions, the axum routes behind them, redirects and the page guards all
//! read them here. (The Leptos router's `path!` segments must be literals;
//! `tests/pages.rs` renders every entry of [`PAGES`] so the two cannot drift.)

use std::fmt::Display;

/// A path with one parameter: its axum route template (`{id}`) and the
/// concrete path for a link or a form action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathWithId(&'static str);

impl PathWithId {
    /// The route as axum declares it.
    pub const fn template(self) -> &'static str {
        self.0
    }

    /// The path for one id (or provider).
    pub fn to(self, id: impl Display) -> String {
        self.0.replacen("{id}", &id.to_string(), 1)
    }
}

// Pages.
pub const HOME: &str = "/";
pub const LOGIN: &str = "/login";
pub const SIGNUP: &str = "/signup";
pub const MEETINGS: &str = "/meetings";
/// A new appointment's form; an appointment's own page.
pub const NEW_APPOINTMENT: &str = "/meetings/new";
pub const APPOINTMENT: PathWithId = PathWithId("/meetings/appointments/{id}");
pub const SETTINGS: &str = "/settings";
pub const CALENDARS: &str = "/settings/calendars";
pub const BOOKING_SETTINGS: &str = "/settings/booking";
pub const ADMIN: &str = "/admin";
pub const ADMIN_USERS: &str = "/admin/users";
pub const ADMIN_CONNECTIONS: &str = "/admin/connections";
pub const ADMIN_WEBHOOKS: &str = "/admin/webhooks";
pub const ADMIN_JOBS: &str = "/admin/jobs";
pub const ADMIN_APPS: &str = "/admin/apps";
pub const ADMIN_API_KEYS: &str = "/admin/api-keys";
pub const ADMIN_SYNC: &str = "/admin/sync";
pub const ADMIN_AUDIT: &str = "/admin/audit";
/// One sync run with its items.
pub const ADMIN_SYNC_RUN: PathWithId = PathWithId("/admin/sync/runs/{id}");
/// The provider sandbox's panel (served outside the Leptos app).
pub const SANDBOX: &str = "/sandbox";

/// Every page the router renders, for the check that each one does.
pub const PAGES: &[&str] = &[
    LOGIN,
    SIGNUP,
    MEETINGS,
    NEW_APPOINTMENT,
    SETTINGS,
    CALENDARS,
    BOOKING_SETTINGS,
    ADMIN_USERS,
    ADMIN_CONNECTIONS,
    ADMIN_WEBHOOKS,
    ADMIN_JOBS,
    ADMIN_APPS,
    ADMIN_API_KEYS,
    ADMIN_SYNC,
    ADMIN_AUDIT,
];

/// Pages without an island. They load no WASM at all (only the page and its
/// stylesheet): nothing on them needs it, and `/login` stays far inside its
/// download budget. `tests/accounts.rs` checks that none of them renders an
/// island, so adding one to such a page fails there first.
pub const WITHOUT_ISLANDS: &[&str] = &[
    LOGIN,
    NEW_APPOINTMENT,
    SETTINGS,
    ADMIN_CONNECTIONS,
    ADMIN_WEBHOOKS,
    ADMIN_JOBS,
    ADMIN_API_KEYS,
    ADMIN_AUDIT,
];

/// Whether the page at `path` loads the WASM that hydrates its islands.
pub fn loads_wasm(path: &str) -> bool {
    !(WITHOUT_ISLANDS.contains(&path) || under(path, BOOK) || under(path, BOOKING_AREA))
}

/// Whether `path` is `area` or under it.
fn under(path: &str, area: &str) -> bool {
    path.strip_prefix(area)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

// Booking pages (public: a visitor needs no account).
pub const BOOK: &str = "/book";
/// A host's page: their event types.
pub const BOOK_HOST: PathWithId = PathWithId("/book/{id}");
/// An event type's page, the route as axum declares it.
pub const BOOK_EVENT: &str = "/book/{slug}/{event_type}";
/// The attendee's page for one booking (`?token=` from the confirmation).
pub const MANAGE_BOOKING: PathWithId = PathWithId("/booking/{id}");
const BOOKING_AREA: &str = "/booking";
pub const CANCEL_BOOKING: PathWithId = PathWithId("/booking/{id}/cancel");
pub const RESCHEDULE_BOOKING: PathWithId = PathWithId("/booking/{id}/reschedule");
/// The booking as an iCalendar file (`?token=`).
pub const BOOKING_ICS: PathWithId = PathWithId("/booking/{id}/invite.ics");

/// The page of a host's event type.
pub fn book_event(host: &str, event_type: &str) -> String {
    BOOK_EVENT
        .replacen("{slug}", host, 1)
        .replacen("{event_type}", event_type, 1)
}

// The machine API (API keys) and the MCP server for AI agents.
pub const API_V1: &str = "/api/v1";
pub const MCP: &str = "/mcp";

// The live stream of meeting changes (server-sent events).
pub const LIVE: &str = "/api/live";
/// A connection's sync progress (server-sent events, `?connection=&since=`).
pub const SYNC_PROGRESS: &str = "/api/sync/progress";
/// The admin overview's figures, rendered again as they change (SSE).
pub const ADMIN_OVERVIEW_LIVE: &str = "/api/admin/overview/live";

// Connecting a calendar (by provider).
const OAUTH: &str = "/oauth";
pub const CONNECT_START: PathWithId = PathWithId("/oauth/{id}/start");
pub const CONNECT_CALLBACK: PathWithId = PathWithId("/oauth/{id}/callback");

// Form posts.
pub const LOG_IN: &str = "/auth/login";
pub const SIGN_UP: &str = "/auth/signup";
pub const LOG_OUT: &str = "/auth/logout";
pub const SAVE_PROFILE: &str = "/settings/profile";
pub const SAVE_BOOKING_PROFILE: &str = "/settings/booking/profile";
pub const SAVE_EVENT_TYPE: &str = "/settings/booking/event-types";
pub const DELETE_EVENT_TYPE: PathWithId = PathWithId("/settings/booking/event-types/{id}/delete");
pub const CREATE_INVITE: &str = "/admin/users/invites";
pub const REVOKE_INVITE: PathWithId = PathWithId("/admin/users/invites/{id}/revoke");
pub const CHANGE_ROLE: PathWithId = PathWithId("/admin/users/{id}/role");
pub const REMOVE_MEMBER: PathWithId = PathWithId("/admin/users/{id}/remove");
pub const TEST_CONNECTION: PathWithId = PathWithId("/settings/calendars/{id}/test");
pub const SAVE_CALENDARS: PathWithId = PathWithId("/settings/calendars/{id}/calendars");
pub const DISCONNECT: PathWithId = PathWithId("/settings/calendars/{id}/disconnect");
pub const SAVE_CONFLICT_POLICY: PathWithId = PathWithId("/settings/calendars/{id}/conflict-policy");
/// Sync now, for the connection's owner.
pub const SYNC_CONNECTION: PathWithId = PathWithId("/settings/calendars/{id}/sync");
/// Sync now, for an admin.
pub const ADMIN_SYNC_CONNECTION: PathWithId = PathWithId("/admin/connections/{id}/sync");
pub const ADMIN_REFRESH_CONNECTION: PathWithId = PathWithId("/admin/connections/{id}/refresh");
pub const ADMIN_RESYNC_CONNECTION: PathWithId = PathWithId("/admin/connections/{id}/resync");
pub const ADMIN_DISCONNECT_CONNECTION: PathWithId =
    PathWithId("/admin/connections/{id}/disconnect");
/// The owner's appointment forms.
pub const CREATE_APPOINTMENT: &str = "/meetings/appointments";
pub const SAVE_APPOINTMENT: PathWithId = PathWithId("/meetings/appointments/{id}/save");
pub const DELETE_APPOINTMENT: PathWithId = PathWithId("/meetings/appointments/{id}/delete");
/// Settling an appointment's conflict: an admin's, and the owner's.
pub const ADMIN_KEEP_CONFLICT: PathWithId = PathWithId("/admin/sync/conflicts/{id}/keep");
pub const KEEP_CONFLICT: PathWithId = PathWithId("/settings/calendars/conflicts/{id}/keep");
/// Settling a booking's conflict: an admin's, and the host's.
pub const ADMIN_KEEP_BOOKING_CONFLICT: PathWithId =
    PathWithId("/admin/sync/booking-conflicts/{id}/keep");
pub const KEEP_BOOKING_CONFLICT: PathWithId =
    PathWithId("/settings/calendars/booking-conflicts/{id}/keep");

/// Where a conflict's Keep buttons post: as an admin, or as its owner.
pub fn keep_conflict(subject: super::ConflictSubject, as_admin: bool) -> String {
    use super::ConflictSubject::{Appointment, Booking};
    match (subject, as_admin) {
        (Appointment(id), true) => ADMIN_KEEP_CONFLICT.to(id),
        (Appointment(id), false) => KEEP_CONFLICT.to(id),
        (Booking(id), true) => ADMIN_KEEP_BOOKING_CONFLICT.to(id),
        (Booking(id), false) => KEEP_BOOKING_CONFLICT.to(id),
    }
}
pub const REPLAY_WEBHOOK: PathWithId = PathWithId("/admin/webhooks/{id}/replay");
pub const RETRY_JOB: PathWithId = PathWithId("/admin/jobs/{id}/retry");
pub const DISCARD_JOB: PathWithId = PathWithId("/admin/jobs/{id}/discard");
/// Saving a team's OAuth app posts to its page.
pub const SAVE_OAUTH_APP: &str = ADMIN_APPS;
pub const TEST_OAUTH_APP: PathWithId = PathWithId("/admin/apps/{id}/test");
pub const DELETE_OAUTH_APP: PathWithId = PathWithId("/admin/apps/{id}/delete");
/// Creating an API key posts to its page.
pub const CREATE_API_KEY: &str = ADMIN_API_KEYS;
pub const REVOKE_API_KEY: PathWithId = PathWithId("/admin/api-keys/{id}/revoke");

// Provider webhooks (registered at the providers as absolute URLs).
pub const WEBHOOK_CALENDLY: PathWithId = PathWithId("/webhooks/calendly/{id}");
pub const WEBHOOK_GOOGLE: &str = "/webhooks/google";
pub const WEBHOOK_MICROSOFT: &str = "/webhooks/microsoft";
pub const WEBHOOK_MICROSOFT_LIFECYCLE: &str = "/webhooks/microsoft/lifecycle";

/// Who may open a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Public,
    /// Login and sign-up: a logged-in visitor goes to the app instead.
    Anonymous,
    Member,
    Admin,
}

/// The areas of the app, each a path and everything under it.
const AREAS: &[(&str, Access)] = &[
    (ADMIN, Access::Admin),
    (MEETINGS, Access::Member),
    (SETTINGS, Access::Member),
    (OAUTH, Access::Member),
    (LOGIN, Access::Anonymous),
    (SIGNUP, Access::Anonymous),
];

/// Who may open `path`.
pub fn access(path: &str) -> Access {
    if path == HOME {
        return Access::Member;
    }
    AREAS
        .iter()
        .find(|(area, _)| under(path, area))
        .map_or(Access::Public, |(_, access)| *access)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_area_covers_itself_and_what_is_under_it_only() {
        assert_eq!(access("/"), Access::Member);
        assert_eq!(access("/admin"), Access::Admin);
        assert_eq!(access("/admin/jobs/1/retry"), Access::Admin);
        assert_eq!(access("/administrator"), Access::Public);
        assert_eq!(access("/settings/calendars"), Access::Member);
        assert_eq!(access(&CONNECT_START.to("google")), Access::Member);
        assert_eq!(access("/login"), Access::Anonymous);
        assert_eq!(access("/login/x"), Access::Anonymous);
        assert_eq!(access("/signup"), Access::Anonymous);
        assert_eq!(access("/webhooks/google"), Access::Public);
        assert_eq!(access("/healthz"), Access::Public);
        assert_eq!(access(&book_event("alice", "intro")), Access::Public);
        assert_eq!(access(&MANAGE_BOOKING.to("x")), Access::Public);
        for page in PAGES {
            assert_ne!(access(page), Access::Public, "{page} is behind a guard");
        }
    }

    #[test]
    fn only_pages_with_islands_load_the_wasm() {
        assert!(!loads_wasm(LOGIN));
        assert!(!loads_wasm(ADMIN_JOBS));
        assert!(loads_wasm(MEETINGS));
        assert!(loads_wasm(CALENDARS));
        assert!(!loads_wasm(&book_event("alice", "intro")));
        assert!(!loads_wasm(&MANAGE_BOOKING.to("x")));
        assert!(loads_wasm("/bookings-elsewhere"));
        assert!(
            loads_wasm("/no-such-page"),
            "unknown paths keep the default"
        );
        for page in WITHOUT_ISLANDS {
            assert!(PAGES.contains(page), "{page} is a page");
        }
    }

    #[test]
    fn a_path_with_an_id_fills_in_its_template() {
        assert_eq!(RETRY_JOB.to(42), "/admin/jobs/42/retry");
        assert_eq!(CONNECT_START.to("calendly"), "/oauth/calendly/start");
        assert_eq!(RETRY_JOB.template(), "/admin/jobs/{id}/retry");
    }
}
