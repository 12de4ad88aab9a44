//! The audit trail's words: what was done (`AuditAction`), one entry as
//! `/admin/audit` and `GET /api/v1/audit` show it, and a page of them.

use serde::{Deserialize, Serialize};
use std::str::FromStr;

macro_rules! audit_actions {
    ($($variant:ident = $code:literal => $label:literal,)*) => {
        /// A security-relevant action; serialized as its stable name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(into = "String", try_from = "String")]
        pub enum AuditAction {
            $($variant,)*
        }

        impl AuditAction {
            pub const ALL: &[AuditAction] = &[$(AuditAction::$variant,)*];

            /// The stable name stored and given to the API.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(AuditAction::$variant => $code,)*
                }
            }

            /// In words, for the page.
            pub fn label(self) -> &'static str {
                match self {
                    $(AuditAction::$variant => $label,)*
                }
            }
        }
    };
}

audit_actions! {
    ApiKeyCreated = "api_key.created" => "API key created",
    ApiKeyRevealed = "api_key.revealed" => "API key shown to its creator",
    ApiKeyRevoked = "api_key.revoked" => "API key revoked",
    RoleChanged = "member.role_changed" => "Role changed",
    MemberInvited = "member.invited" => "Member invited",
    InviteRevoked = "member.invite_revoked" => "Invite revoked",
    MemberRemoved = "member.removed" => "Member removed",
    ConnectionConnected = "connection.connected" => "Calendar connected",
    ConnectionReconnected = "connection.reconnected" => "Calendar reconnected",
    ConnectionTakenOver = "connection.taken_over" => "Calendar account moved to another person",
    ConnectionDisconnected = "connection.disconnected" => "Calendar disconnected",
    OAuthAppChanged = "oauth_app.changed" => "OAuth app credentials changed",
    OAuthAppRemoved = "oauth_app.removed" => "OAuth app removed",
    ConflictDecided = "conflict.decided" => "Sync conflict decided",
    WebhookReplayed = "webhook.replayed" => "Webhook replayed",
    JobRetried = "job.retried" => "Job retried",
    JobDiscarded = "job.discarded" => "Job discarded",
    LimitTripped = "limit.tripped" => "Request limit reached",
}

impl From<AuditAction> for String {
    fn from(action: AuditAction) -> String {
        action.as_str().to_owned()
    }
}

impl TryFrom<String> for AuditAction {
    type Error = String;
    fn try_from(name: String) -> Result<Self, Self::Error> {
        name.parse()
    }
}

impl FromStr for AuditAction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AuditAction::ALL
            .iter()
            .copied()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| format!("unknown audit action '{s}'"))
    }
}

/// Who acted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// A signed-in person.
    User,
    /// A machine with one of the team's API keys.
    ApiKey,
    /// The command line on the server.
    Operator,
    /// Someone on the public booking pages, by client address.
    Visitor,
    /// calbridge itself.
    System,
}

impl ActorKind {
    pub const ALL: [ActorKind; 5] = [
        ActorKind::User,
        ActorKind::ApiKey,
        ActorKind::Operator,
        ActorKind::Visitor,
        ActorKind::System,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::User => "user",
            ActorKind::ApiKey => "api_key",
            ActorKind::Operator => "operator",
            ActorKind::Visitor => "visitor",
            ActorKind::System => "system",
        }
    }
}

impl FromStr for ActorKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ActorKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown actor kind '{s}'"))
    }
}

/// One entry of the trail.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntryView {
    pub id: String,
    /// RFC 3339, UTC.
    pub at: String,
    pub actor_kind: ActorKind,
    /// An e-mail, "command line", a client address, "calbridge".
    pub actor: String,
    pub action: AuditAction,
    /// What it was done to, in words (a key's name, a person's e-mail, …).
    pub target: String,
    pub detail: String,
    /// How many times it happened (a limit reached many times in one
    /// minute is one entry).
    pub count: i64,
}

/// `/admin/audit`: one page of entries, newest first, and where the next
/// (older) page starts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntryView>,
    /// The `before` of the next page; none at the end.
    pub next: Option<String>,
    /// The link to the next page of `/admin/audit`, the filters kept.
    pub next_href: Option<String>,
    /// Everyone who acted within the retention, for the actor filter.
    pub actors: Vec<String>,
}
