//! Which product an emulator plays. The sandbox's own enum, not calbridge's:
//! calbridge connects to providers the sandbox does not emulate (CalDAV is
//! tested against a real server), and the sandbox must not depend on the app.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Calendly,
    Google,
    Microsoft,
}

impl Provider {
    pub const ALL: [Provider; 3] = [Provider::Calendly, Provider::Google, Provider::Microsoft];

    /// The name used in paths (`/sandbox/{name}/…`) and in the control API.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Calendly => "calendly",
            Provider::Google => "google",
            Provider::Microsoft => "microsoft",
        }
    }

    /// The product's name, for the panel.
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
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        if name == "outlook" {
            return Ok(Provider::Microsoft);
        }
        Provider::ALL
            .into_iter()
            .find(|p| p.as_str() == name)
            .ok_or_else(|| format!("unknown provider '{name}'"))
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
