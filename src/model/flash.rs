//! Flash messages travel as short codes in the query string after a form
//! post redirects (so pages work without JavaScript). Each message is a
//! variant here, with its code and its words defined once.

macro_rules! flash_messages {
    ($($variant:ident = $code:literal => $text:literal,)*) => {
        /// A message shown once at the top of a page, after a redirect.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Flash {
            $($variant,)*
        }

        impl Flash {
            pub const ALL: &[Flash] = &[$(Flash::$variant,)*];

            /// The code in the query string (`?notice=…` / `?error=…`).
            pub fn code(self) -> &'static str {
                match self {
                    $(Flash::$variant => $code,)*
                }
            }

            pub fn text(self) -> &'static str {
                match self {
                    $(Flash::$variant => $text,)*
                }
            }

            pub fn from_code(code: &str) -> Option<Flash> {
                match code {
                    $($code => Some(Flash::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

flash_messages! {
    InvalidCredentials = "invalid_credentials" => "Email or password is incorrect.",
    RateLimited = "rate_limited" => "Too many failed attempts. Wait a few minutes and try again.",
    SignupClosed = "signup_closed" => "Sign-up needs an invite link from an admin of your team.",
    InviteInvalid = "invite_invalid" => "This invite link is invalid, expired or already used.",
    EmailTaken = "email_taken" => "An account with this email already exists in this team.",
    WeakPassword = "weak_password" => "Password must be at least 10 characters.",
    InvalidEmail = "invalid_email" => "Enter a valid email address.",
    InvalidName = "invalid_name" => "Name must be 1 to 100 characters.",
    InvalidTimeZone = "invalid_time_zone" => "Choose a valid time zone.",
    InvalidTenantName = "invalid_tenant_name" => "Team name must be 1 to 100 characters.",
    EmailMismatch = "email_mismatch" => "This invite is for a different email address.",
    SessionExpired = "session_expired" => "Your session has ended. Please log in again.",
    LoggedOut = "logged_out" => "You have been logged out.",
    Welcome = "welcome" => "Welcome to calbridge.",
    InviteCreated = "invite_created" => "Invite link created. Copy it and send it to your teammate.",
    InviteRevoked = "invite_revoked" => "Invite revoked.",
    RoleChanged = "role_changed" => "Role updated.",
    MemberRemoved = "member_removed" => "Member removed.",
    RoleChangedKeysRevoked = "role_changed_keys_revoked" => "Role updated. The API keys they created were revoked: a member cannot hold an admin's keys.",
    MemberRemovedKeysRevoked = "member_removed_keys_revoked" => "Member removed. The API keys they created were revoked.",
    LastAdmin = "last_admin" => "A team needs at least one admin.",
    NotYourself = "not_yourself" => "You cannot remove yourself.",
    ProfileSaved = "profile_saved" => "Profile saved.",
    NotFound = "not_found" => "That item no longer exists.",
    AppSaved = "app_saved" => "OAuth app saved. Use Test to check it with the provider.",
    AppDeleted = "app_deleted" => "The team's own app was removed; the instance default applies again.",
    AppCheckOk = "app_check_ok" => "The provider accepted these credentials.",
    AppCheckFailed = "app_check_failed" => "The provider refused these credentials. See the error below.",
    AppUnreachable = "app_unreachable" => "The provider could not be reached. Try again in a moment.",
    AppMissing = "app_missing" => "No OAuth app is configured for this provider yet.",
    InvalidAppName = "invalid_app_name" => "Name must be 1 to 100 characters.",
    InvalidClientId = "invalid_client_id" => "Client ID must be 1 to 255 characters.",
    SecretRequired = "secret_required" => "Enter the client secret.",
    Connected = "connected" => "Calendar connected.",
    Disconnected = "disconnected" => "Calendar disconnected. Its tokens are being revoked and its webhooks removed at the provider.",
    CalendarsSaved = "calendars_saved" => "Calendar choices saved.",
    UnknownCalendar = "unknown_calendar" => "Choose calendars of this account (and a writable one for bookings).",
    ResyncQueued = "resync_queued" => "A full resync was queued: every event is read again from the provider.",
    SyncQueued = "sync_queued" => "A sync was queued; it runs in a moment.",
    ReconnectFirst = "reconnect_first" => "Reconnect this account before syncing it.",
    AppointmentCreated = "appointment_created" => "Appointment created. Your calendar gets it in a moment.",
    AppointmentSaved = "appointment_saved" => "Appointment saved. Your calendar follows.",
    AppointmentDeleted = "appointment_deleted" => "Appointment deleted. Its calendar event is removed.",
    AppointmentTitle = "appointment_title" => "Give the appointment a title of up to 200 characters.",
    AppointmentTime = "appointment_time" => "Give a start and an end that exist in your time zone, the end after the start, at most two weeks apart.",
    AppointmentAttendees = "appointment_attendees" => "List the attendees as email addresses, at most 50.",
    AppointmentTooLong = "appointment_too_long" => "Keep the location to 500 characters and the notes to 5,000.",
    AppointmentOverlaps = "appointment_overlaps" => "That time overlaps another of your bookings or appointments; choose another.",
    AppointmentWasDeleted = "appointment_was_deleted" => "This appointment was deleted, so it cannot be changed.",
    ConflictPolicySaved = "conflict_policy_saved" => "Saved: this is what happens when an appointment changes in calbridge and in the calendar.",
    InvalidConflictPolicy = "invalid_conflict_policy" => "Choose Ask, Calendar wins or calbridge wins.",
    NoAppointmentsHere = "no_appointments_here" => "Only Google and Outlook calendars hold calbridge's appointments.",
    ConflictSettled = "conflict_settled" => "Conflict settled: both sides now hold the version you kept.",
    NoConflict = "no_conflict" => "There is no conflict to settle there any more.",
    JobRetried = "job_retried" => "The job was queued again.",
    WebhookReplayed = "webhook_replayed" => "The webhook was queued for processing again.",
    JobDiscarded = "job_discarded" => "The job was discarded.",
    JobAlreadyQueued = "job_already_queued" => "An identical job is already queued.",
    ConnectDenied = "connect_denied" => "You declined access at the provider, so nothing was connected.",
    ConnectFailed = "connect_failed" => "The calendar could not be connected. Please try again.",
    ConnectionOk = "connection_ok" => "The provider answered: this connection works.",
    ConnectionBroken = "connection_broken" => "This connection no longer works. Reconnect it.",
    ConnectionRefreshed = "connection_refreshed" => "Tokens refreshed with the provider.",
    RefreshFailed = "refresh_failed" => "The provider refused to refresh the tokens; the user must reconnect.",
    ConnectTaken = "connect_taken" => "That provider account is already connected by another calbridge user.",
    ProviderUnreachable = "provider_unreachable" => "A calendar provider could not be reached to revoke this member's access, so nothing was removed. Try again in a minute.",
    AppExists = "app_exists" => "This provider already has an OAuth app for your team; edit that one.",
    InvalidSlug = "invalid_slug" => "Use 2 to 40 lower-case letters, digits and dashes.",
    InvalidHours = "invalid_hours" => "Working hours need a start before their end, like 09:00 to 17:00.",
    InvalidEventType = "invalid_event_type" => "Durations and intervals are 5 to 720 minutes, buffers up to 240, the window 1 to 365 days.",
    InvalidPublicDailyLimit = "invalid_public_daily_limit" => "Public bookings a day must be a whole number from 1 to 1,000.",
    TooManyBookings = "too_many_bookings" => "Too many bookings or changes from here for now. Wait a while and try again; what you typed is kept.",
    HostBusy = "host_busy" => "The host's calendar is being checked by many people right now. Try again in a moment.",
    SlotTaken = "slot_taken" => "That time was just booked by someone else; choose another.",
    NotASlot = "not_a_slot" => "That time can no longer be booked; choose another.",
    Booked = "booked" => "You are booked. Keep this page's address to change or cancel.",
    BookingCanceled = "booking_canceled" => "Your booking is canceled. The host's calendar follows.",
    BookingMoved = "booking_moved" => "Your booking was moved to the new time.",
    BookingWasCanceled = "booking_was_canceled" => "This booking was canceled, so it cannot be moved.",
    CalendarUnavailable = "calendar_unavailable" => "The host's calendar is temporarily unavailable, so no time can be booked right now. Try again in a few minutes.",
    BookingProfileSaved = "booking_profile_saved" => "Booking page saved.",
    BookingProfileFirst = "booking_profile_first" => "Save your booking page first, then add event types.",
    EventTypeSaved = "event_type_saved" => "Event type saved.",
    EventTypeDeleted = "event_type_deleted" => "Event type deleted. Its bookings stay.",
    BookingSlugTaken = "booking_slug_taken" => "That booking page address is taken; choose another.",
    EventTypeSlugTaken = "event_type_slug_taken" => "You already have an event type with that address.",
    ApiKeyCreated = "api_key_created" => "API key created. Copy it now: it is not shown again.",
    ApiKeyRevoked = "api_key_revoked" => "API key revoked. Requests with it are refused from now on.",
    InvalidApiKeyName = "invalid_api_key_name" => "Name the key with 1 to 100 characters.",
    InvalidDate = "invalid_date" => "Give dates as YYYY-MM-DD.",
    InvalidAuditFilter = "invalid_audit_filter" => "Choose an action from the list.",
    InvalidRateLimit = "invalid_rate_limit" => "Requests a minute must be a whole number from 1 to 1,000,000.",
    InvalidScopes = "invalid_scopes" => "Choose at least one scope for the key.",
    SubscriptionExists = "subscription_exists" => "This calendar already has a webhook subscription.",
    Internal = "internal" => "Something went wrong on our side. Please try again.",
}

/// Which way a flash reads: good news or a problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlashKind {
    Notice,
    Error,
}

impl FlashKind {
    pub fn param(self) -> &'static str {
        match self {
            FlashKind::Notice => "notice",
            FlashKind::Error => "error",
        }
    }
}

/// `path` with the flash appended to its query string (before any `#fragment`).
pub fn with_flash(path: &str, kind: FlashKind, flash: Flash) -> String {
    let (base, fragment) = match path.split_once('#') {
        Some((base, fragment)) => (base, Some(fragment)),
        None => (path, None),
    };
    let sep = if base.contains('?') { '&' } else { '?' };
    let mut out = format!("{base}{sep}{}={}", kind.param(), flash.code());
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_reads_back_as_its_message() {
        let mut codes = std::collections::HashSet::new();
        for &flash in Flash::ALL {
            assert_eq!(Flash::from_code(flash.code()), Some(flash));
            assert!(codes.insert(flash.code()), "{} twice", flash.code());
            assert!(
                flash.text().ends_with('.'),
                "{:?} reads as a sentence",
                flash
            );
        }
        assert_eq!(Flash::from_code("no_such_code"), None);
    }

    #[test]
    fn a_flash_joins_the_query_before_the_fragment() {
        assert_eq!(
            with_flash("/admin/apps#google", FlashKind::Notice, Flash::AppSaved),
            "/admin/apps?notice=app_saved#google"
        );
        assert_eq!(
            with_flash("/admin/jobs?status=dead", FlashKind::Error, Flash::NotFound),
            "/admin/jobs?status=dead&error=not_found"
        );
        assert_eq!(
            with_flash("/login", FlashKind::Notice, Flash::LoggedOut),
            "/login?notice=logged_out"
        );
    }
}
