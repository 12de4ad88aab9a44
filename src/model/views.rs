//! The view structs server functions return, and the small enums they carry.

use super::{
    ApiKeyId, CalendarId, ConflictPolicy, ConnectionId, InviteId, JobId, MeetingId, UserId,
    WebhookEventId,
};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Whether calbridge can act for a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectionState {
    Connected,
    /// Tokens stopped working: the user must reconnect.
    Error,
    Disconnected,
}

impl ConnectionState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionState::Connected => "connected",
            ConnectionState::Error => "error",
            ConnectionState::Disconnected => "disconnected",
        }
    }
}

impl FromStr for ConnectionState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "connected" => Ok(ConnectionState::Connected),
            "error" => Ok(ConnectionState::Error),
            "disconnected" => Ok(ConnectionState::Disconnected),
            other => Err(format!("unknown connection state '{other}'")),
        }
    }
}

/// A row on `/settings/calendars`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConnectionView {
    pub id: ConnectionId,
    pub provider: Provider,
    pub account_email: String,
    pub account_name: String,
    pub state: ConnectionState,
    /// RFC 3339.
    pub connected_at: String,
    pub last_sync_at: Option<String>,
    pub token_expires_at: Option<String>,
    pub last_error: Option<String>,
    /// How changes reach calbridge: webhooks, or polling when the provider
    /// refuses webhooks (Calendly's free plan).
    pub sync_mode: SyncMode,
    /// One line per provider subscription, e.g. "active".
    pub subscription: SubscriptionSummary,
    /// The calendars of a Google or Outlook account (empty for Calendly).
    pub calendars: Vec<CalendarView>,
    /// What two-way sync does when an appointment changed on both sides.
    pub conflict_policy: ConflictPolicy,
}

/// How a connection learns about changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    Webhook,
    Polling,
}

impl SyncMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncMode::Webhook => "webhook",
            SyncMode::Polling => "polling",
        }
    }
}

impl FromStr for SyncMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "webhook" => Ok(SyncMode::Webhook),
            "polling" => Ok(SyncMode::Polling),
            other => Err(format!("unknown sync mode '{other}'")),
        }
    }
}

/// Lifecycle of a provider subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubscriptionState {
    Active,
    /// Creating or renewing failed; the scheduler tries again.
    Failed,
    /// Being deleted at the provider.
    Stopping,
    Stopped,
}

impl SubscriptionState {
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionState::Active => "active",
            SubscriptionState::Failed => "failed",
            SubscriptionState::Stopping => "stopping",
            SubscriptionState::Stopped => "stopped",
        }
    }
}

impl FromStr for SubscriptionState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(SubscriptionState::Active),
            "failed" => Ok(SubscriptionState::Failed),
            "stopping" => Ok(SubscriptionState::Stopping),
            "stopped" => Ok(SubscriptionState::Stopped),
            other => Err(format!("unknown subscription state '{other}'")),
        }
    }
}

/// The webhook side of a connection, summarised for the lists.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionSummary {
    /// Live subscriptions (one per connection, or per busy Google calendar).
    pub active: usize,
    /// Subscriptions whose creation or renewal failed.
    pub failed: usize,
    /// RFC 3339: the earliest planned renewal.
    pub next_renewal_at: Option<String>,
    /// The latest failure, in the provider's words.
    pub last_error: Option<String>,
}

/// One calendar of a connected Google or Outlook account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CalendarView {
    pub id: CalendarId,
    pub name: String,
    pub primary: bool,
    pub writable: bool,
    /// Its events count as busy time.
    pub busy: bool,
    /// New bookings are created here.
    pub booking_target: bool,
}

/// A meeting's state at its provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MeetingStatus {
    Scheduled,
    Canceled,
    /// Moved: a new meeting replaces this one.
    Rescheduled,
}

impl MeetingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MeetingStatus::Scheduled => "scheduled",
            MeetingStatus::Canceled => "canceled",
            MeetingStatus::Rescheduled => "rescheduled",
        }
    }
}

impl FromStr for MeetingStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "scheduled" => Ok(MeetingStatus::Scheduled),
            "canceled" => Ok(MeetingStatus::Canceled),
            "rescheduled" => Ok(MeetingStatus::Rescheduled),
            other => Err(format!("unknown meeting status '{other}'")),
        }
    }
}

/// One meeting on `/meetings`. Its whole content is its key in the live
/// list, so a row whose link or title changed is drawn again.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MeetingView {
    /// A booking's meeting has the booking's id.
    pub id: MeetingId,
    pub source: MeetingSource,
    pub title: String,
    /// RFC 3339, UTC.
    pub starts_at: String,
    pub ends_at: String,
    /// The same times in the viewer's time zone, `HH:MM`.
    pub local_start: String,
    pub local_end: String,
    pub status: MeetingStatus,
    pub invitee_name: Option<String>,
    pub invitee_email: Option<String>,
    pub location: Option<String>,
    pub join_url: Option<String>,
    pub reschedule_url: Option<String>,
    pub cancel_url: Option<String>,
    /// An appointment's own page, where its owner changes it.
    pub edit_url: Option<String>,
}

/// Meetings of one day in the viewer's time zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeetingDay {
    /// `YYYY-MM-DD` in the viewer's time zone.
    pub date: String,
    /// e.g. "Monday 23 November".
    pub label: String,
    pub meetings: Vec<MeetingView>,
}

/// `/meetings`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeetingsPage {
    pub days: Vec<MeetingDay>,
    pub time_zone: String,
    /// `YYYY-MM-DD` in the viewer's time zone.
    pub today: String,
    /// The user has at least one connected calendar.
    pub has_connections: bool,
    /// The user's public booking page, if they take bookings.
    pub booking_page: Option<String>,
}

/// A row on `/admin/webhooks`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WebhookEventView {
    pub id: WebhookEventId,
    pub provider: Provider,
    pub event_type: String,
    pub user_email: Option<String>,
    pub dedupe_key: Option<String>,
    /// processed / queued / duplicate-free result: processed, queued,
    /// ignored, unrouted, rejected or failed.
    pub result: String,
    pub detail: Option<String>,
    pub duplicates: i64,
    /// RFC 3339.
    pub received_at: String,
    /// Received → processed, in milliseconds.
    pub latency_ms: Option<i64>,
    /// The stored body, pretty-printed (secrets are never stored).
    pub payload: Option<String>,
}

/// Where a job is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    /// Out of attempts (or failed permanently): waits for an admin.
    Dead,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Dead => "dead",
        }
    }
}

impl FromStr for JobStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "queued" => Ok(JobStatus::Queued),
            "running" => Ok(JobStatus::Running),
            "done" => Ok(JobStatus::Done),
            "dead" => Ok(JobStatus::Dead),
            other => Err(format!("unknown job status '{other}'")),
        }
    }
}

/// A row on `/admin/jobs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobView {
    pub id: JobId,
    pub kind: String,
    pub status: JobStatus,
    pub attempts: i64,
    pub max_attempts: i64,
    /// RFC 3339.
    pub run_at: String,
    pub updated_at: String,
    pub last_error: Option<String>,
}

/// `/admin/jobs`: the jobs and when the scheduler runs next.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobsPage {
    pub jobs: Vec<JobView>,
    pub counts: Vec<(JobStatus, i64)>,
    /// RFC 3339: the next scheduler run (renewals, refreshes, polling).
    pub scheduler_next_run: Option<String>,
    /// The last housekeeping run, if any yet.
    pub housekeeping: Option<HousekeepingView>,
}

/// What the last housekeeping run removed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HousekeepingView {
    /// RFC 3339.
    pub finished_at: String,
    pub sessions: i64,
    pub oauth_states: i64,
    pub webhook_events: i64,
    pub secrets: i64,
    pub retention_days: u64,
}

/// A connection as admins see it on `/admin/connections`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TenantConnectionView {
    pub connection: ConnectionView,
    pub user_name: String,
    pub user_email: String,
}

/// Lifecycle of an OAuth app's credentials (seed 004's connection states).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OAuthAppState {
    /// Saved, not yet checked against the provider.
    Configured,
    /// The provider accepted the credentials.
    Connected,
    Disconnected,
    /// The provider refused the credentials; see the last error.
    Error,
}

impl OAuthAppState {
    pub fn as_str(self) -> &'static str {
        match self {
            OAuthAppState::Configured => "configured",
            OAuthAppState::Connected => "connected",
            OAuthAppState::Disconnected => "disconnected",
            OAuthAppState::Error => "error",
        }
    }
}

impl FromStr for OAuthAppState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "configured" => Ok(OAuthAppState::Configured),
            "connected" => Ok(OAuthAppState::Connected),
            "disconnected" => Ok(OAuthAppState::Disconnected),
            "error" => Ok(OAuthAppState::Error),
            other => Err(format!("unknown app state '{other}'")),
        }
    }
}

/// Where the credentials a provider uses come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppSource {
    /// This tenant's own app (managed on `/admin/apps`).
    Tenant,
    /// The instance default from the environment (or the sandbox).
    Instance,
    /// Nothing configured yet.
    Missing,
}

/// One provider's row on `/admin/apps`. The secret is never sent: only
/// whether one is stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OAuthAppView {
    pub provider: Provider,
    pub source: AppSource,
    pub name: String,
    pub client_id: String,
    /// `***` when a secret is stored, empty otherwise.
    pub client_secret: String,
    /// The exact redirect URI to register at the provider.
    pub redirect_uri: String,
    pub state: OAuthAppState,
    pub last_checked_at: Option<String>,
    pub last_error: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Role::Admin),
            "member" => Ok(Role::Member),
            other => Err(format!("unknown role '{other}'")),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A calendar provider calbridge connects to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Calendly,
    Google,
    Microsoft,
}

impl Provider {
    pub const ALL: [Provider; 3] = [Provider::Calendly, Provider::Google, Provider::Microsoft];

    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Calendly => "calendly",
            Provider::Google => "google",
            Provider::Microsoft => "microsoft",
        }
    }

    /// The name people know the product by.
    pub fn label(self) -> &'static str {
        match self {
            Provider::Calendly => "Calendly",
            Provider::Google => "Google Calendar",
            Provider::Microsoft => "Outlook",
        }
    }
}

impl FromStr for Provider {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "calendly" => Ok(Provider::Calendly),
            "google" => Ok(Provider::Google),
            "microsoft" | "outlook" => Ok(Provider::Microsoft),
            other => Err(format!("unknown provider '{other}'")),
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a meeting on `/meetings` comes from: a connected provider, or a
/// booking made on calbridge itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MeetingSource {
    Calendly,
    Google,
    Microsoft,
    Calbridge,
}

impl MeetingSource {
    pub const ALL: [MeetingSource; 4] = [
        MeetingSource::Calendly,
        MeetingSource::Google,
        MeetingSource::Microsoft,
        MeetingSource::Calbridge,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MeetingSource::Calendly => "calendly",
            MeetingSource::Google => "google",
            MeetingSource::Microsoft => "microsoft",
            MeetingSource::Calbridge => "calbridge",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            MeetingSource::Calendly => "Calendly",
            MeetingSource::Google => "Google Calendar",
            MeetingSource::Microsoft => "Outlook",
            MeetingSource::Calbridge => "Booking page",
        }
    }
}

impl From<Provider> for MeetingSource {
    fn from(p: Provider) -> Self {
        match p {
            Provider::Calendly => MeetingSource::Calendly,
            Provider::Google => MeetingSource::Google,
            Provider::Microsoft => MeetingSource::Microsoft,
        }
    }
}

impl FromStr for MeetingSource {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "calbridge" => Ok(MeetingSource::Calbridge),
            other => other.parse::<Provider>().map(MeetingSource::from),
        }
    }
}

/// Where a booked meeting takes place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventLocation {
    GoogleMeet,
    MicrosoftTeams,
    Phone,
    InPerson,
    None,
}

impl EventLocation {
    pub const ALL: [EventLocation; 5] = [
        EventLocation::GoogleMeet,
        EventLocation::MicrosoftTeams,
        EventLocation::Phone,
        EventLocation::InPerson,
        EventLocation::None,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventLocation::GoogleMeet => "google_meet",
            EventLocation::MicrosoftTeams => "microsoft_teams",
            EventLocation::Phone => "phone",
            EventLocation::InPerson => "in_person",
            EventLocation::None => "none",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            EventLocation::GoogleMeet => "Google Meet",
            EventLocation::MicrosoftTeams => "Microsoft Teams",
            EventLocation::Phone => "Phone call",
            EventLocation::InPerson => "In person",
            EventLocation::None => "No location",
        }
    }
}

impl FromStr for EventLocation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventLocation::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| format!("unknown location '{s}'"))
    }
}

/// What an API key may do: each scope grants exactly what it says, in
/// REST, the agent tools and MCP alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ApiScope {
    /// List hosts and read their free slots.
    AvailabilityRead,
    /// Read bookings, without the attendee's manage link.
    BookingsRead,
    /// Create, cancel and reschedule bookings, and read their manage links.
    BookingsWrite,
    /// List and read appointments, with their attendees and notes.
    AppointmentsRead,
    /// Create, change and delete appointments.
    AppointmentsWrite,
    /// Read the team's audit trail.
    AuditRead,
}

impl ApiScope {
    pub const ALL: [ApiScope; 6] = [
        ApiScope::AvailabilityRead,
        ApiScope::BookingsRead,
        ApiScope::BookingsWrite,
        ApiScope::AppointmentsRead,
        ApiScope::AppointmentsWrite,
        ApiScope::AuditRead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ApiScope::AvailabilityRead => "availability:read",
            ApiScope::BookingsRead => "bookings:read",
            ApiScope::BookingsWrite => "bookings:write",
            ApiScope::AppointmentsRead => "appointments:read",
            ApiScope::AppointmentsWrite => "appointments:write",
            ApiScope::AuditRead => "audit:read",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            ApiScope::AvailabilityRead => "List hosts and read free slots",
            ApiScope::BookingsRead => "Read bookings (without the attendee's manage link)",
            ApiScope::BookingsWrite => {
                "Book, cancel and reschedule; read the attendee's manage link"
            }
            ApiScope::AppointmentsRead => "List and read appointments, with attendees and notes",
            ApiScope::AppointmentsWrite => "Create, change and delete appointments",
            ApiScope::AuditRead => "Read the team's audit trail",
        }
    }

    /// The admin form's checkbox for this scope.
    pub fn field(self) -> &'static str {
        match self {
            ApiScope::AvailabilityRead => "scope_availability_read",
            ApiScope::BookingsRead => "scope_bookings_read",
            ApiScope::BookingsWrite => "scope_bookings_write",
            ApiScope::AppointmentsRead => "scope_appointments_read",
            ApiScope::AppointmentsWrite => "scope_appointments_write",
            ApiScope::AuditRead => "scope_audit_read",
        }
    }
}

impl FromStr for ApiScope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ApiScope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s.trim())
            .ok_or_else(|| {
                let known: Vec<&str> = ApiScope::ALL.iter().map(|s| s.as_str()).collect();
                format!("unknown scope '{s}' (use {})", known.join(", "))
            })
    }
}

/// One row on `/admin/api-keys` (never the key itself).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyView {
    pub id: ApiKeyId,
    pub name: String,
    pub scopes: Vec<ApiScope>,
    /// The key's first characters, to tell keys apart.
    pub prefix: String,
    pub created_by: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
    /// Requests it may make a minute.
    pub rate_limit_per_minute: i64,
}

/// `/admin/api-keys`: the tenant's keys, and a key just created (shown to
/// its creator on this one page load, never again).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiKeysPage {
    pub keys: Vec<ApiKeyView>,
    pub created: Option<CreatedApiKey>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreatedApiKey {
    pub name: String,
    pub key: String,
}

/// The logged-in user as the UI sees them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: UserId,
    pub tenant_name: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub time_zone: String,
}

impl CurrentUser {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// What the shell needs on every page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShellInfo {
    pub user: Option<CurrentUser>,
    /// Providers are the built-in sandbox, not the real services.
    pub sandbox_providers: bool,
}

/// One member row on `/admin/users`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemberView {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub time_zone: String,
    /// RFC 3339, UTC.
    pub joined_at: String,
}

/// A pending invite; `link` is the sign-up URL an admin can copy again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InviteView {
    pub id: InviteId,
    pub email: Option<String>,
    pub role: Role,
    pub link: String,
    pub invited_by: Option<String>,
    pub expires_at: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MembersPage {
    pub me: UserId,
    pub members: Vec<MemberView>,
    pub invites: Vec<InviteView>,
}

/// What `/signup` shows: the first account of an empty instance, an invite,
/// or a closed door.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SignupMode {
    FirstAccount,
    Invite {
        tenant_name: String,
        email: Option<String>,
    },
    InviteInvalid,
    Closed,
}

/// Errors server functions return to the browser: safe messages only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum ApiError {
    #[error("Please log in.")]
    Unauthorized,
    #[error("You do not have access to this page.")]
    Forbidden,
    #[error("Not found.")]
    NotFound,
    #[error("{0}")]
    Invalid(String),
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
}

impl leptos::server_fn::error::FromServerFnError for ApiError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(_: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        ApiError::Internal
    }
}
