//! The people and OAuth clients the sandbox knows, and what a calendar
//! owner does in a provider's own UI.

use crate::Provider;
use serde::{Deserialize, Serialize};

/// Accounts every fresh sandbox starts with, per provider.
pub const SEED_ACCOUNTS: &[(&str, &str)] = &[
    ("alice@sandbox.test", "Alice Sandbox"),
    ("bob@sandbox.test", "Bob Sandbox"),
    ("carol@sandbox.test", "Carol Sandbox"),
];

/// A person's account at one provider.
#[derive(Clone, Debug, Serialize)]
pub struct Account {
    /// Provider-side id (UUID); Calendly user UUID, Graph user id, …
    pub id: String,
    pub provider: Provider,
    pub email: String,
    pub name: String,
    /// `free` or `paid` (Calendly webhooks need a paid plan).
    pub plan: String,
    pub time_zone: String,
}

/// A registered OAuth client.
#[derive(Clone, Debug, Serialize)]
pub struct App {
    pub provider: Provider,
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
}

impl App {
    /// Parses `PROVIDER,CLIENT_ID,CLIENT_SECRET,REDIRECT_URI` (the standalone
    /// command's `--app`).
    pub fn from_flag(text: &str) -> Result<App, String> {
        let parts: Vec<&str> = text.splitn(4, ',').map(str::trim).collect();
        let [provider, client_id, client_secret, redirect_uri] = parts[..] else {
            return Err(format!(
                "'{text}' is not PROVIDER,CLIENT_ID,CLIENT_SECRET,REDIRECT_URI"
            ));
        };
        if client_id.is_empty()
            || client_secret.is_empty()
            || url::Url::parse(redirect_uri).is_err()
        {
            return Err(format!(
                "'{text}' needs a client id, a secret and an absolute redirect URI"
            ));
        }
        Ok(App {
            provider: provider.parse()?,
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            redirect_uris: vec![redirect_uri.to_owned()],
        })
    }
}

/// A calendar owner changing their calendar in the provider's own UI
/// (control API and panel), for Google and Microsoft.
#[derive(Clone, Debug, Deserialize)]
pub struct OwnerEvent {
    pub owner_email: String,
    pub summary: String,
    /// RFC 3339.
    pub start: String,
    /// RFC 3339.
    pub end: String,
    #[serde(default)]
    pub attendees: Vec<String>,
    #[serde(default)]
    pub online_meeting: bool,
    /// Google calendar id (defaults to the owner's primary calendar).
    #[serde(default)]
    pub calendar_id: Option<String>,
    /// Shown as free (Google `transparency: transparent`): blocks no time.
    #[serde(default)]
    pub free: bool,
    /// The IANA zone its times are shown in (`start.timeZone`); the offset
    /// in `start` still fixes the instant. A series repeats the wall time
    /// of this zone across DST changes.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// An all-day event over the dates of `start` and `end` (end
    /// exclusive, as the providers store it).
    #[serde(default)]
    pub all_day: bool,
    /// A recurring series whose instances repeat `start`..`end`.
    #[serde(default)]
    pub repeat: Option<Repeat>,
}

/// How a series repeats: `FREQ=DAILY|WEEKLY;COUNT=n`.
#[derive(Clone, Copy, Debug, Deserialize)]
pub struct Repeat {
    pub frequency: Frequency,
    pub count: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Frequency {
    Daily,
    Weekly,
}

impl Repeat {
    /// The most instances a series may have here.
    pub const MAX_COUNT: u32 = 366;

    pub fn rrule(&self) -> String {
        let freq = match self.frequency {
            Frequency::Daily => "DAILY",
            Frequency::Weekly => "WEEKLY",
        };
        format!("RRULE:FREQ={freq};COUNT={}", self.count)
    }

    /// Days between two instances.
    pub fn step_days(&self) -> u64 {
        match self.frequency {
            Frequency::Daily => 1,
            Frequency::Weekly => 7,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apps_parse_from_the_command_line() {
        let app = App::from_flag("google,cid,secret,http://127.0.0.1:3000/oauth/google/callback")
            .unwrap();
        assert_eq!(app.provider, Provider::Google);
        assert_eq!(
            app.redirect_uris,
            vec!["http://127.0.0.1:3000/oauth/google/callback"]
        );
        assert!(App::from_flag("google,cid,secret").is_err());
        assert!(App::from_flag("yahoo,cid,secret,http://x/cb").is_err());
        assert!(App::from_flag("google,,secret,http://x/cb").is_err());
        assert!(App::from_flag("google,cid,secret,not a url").is_err());
    }
}
