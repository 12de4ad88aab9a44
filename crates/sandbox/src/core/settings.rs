//! How the sandbox is set up at start, what the control API may change
//! while it runs, and where its outgoing requests may go.

use serde::{Deserialize, Serialize};

/// How the sandbox is set up at start.
#[derive(Clone, Debug)]
pub struct SandboxSettings {
    /// Absolute URL of the sandbox root, e.g. `http://127.0.0.1:3000/sandbox`.
    /// Resource URIs (Calendly `uri` fields, Graph `@odata.nextLink`, …) are built from it.
    pub base_url: String,
    /// Seed for every random choice (ids, tokens, faults): same seed, same run.
    pub seed: u64,
    /// When set, webhook deliveries go to this origin instead of the one in
    /// the registered URL (path and query are kept).
    pub deliver_to: Option<String>,
    /// The only origin webhooks may be sent to (calbridge's own, when the
    /// sandbox is mounted in it). `None`: loopback hosts only (a standalone
    /// sandbox beside tests). Either way it never posts to the internet.
    pub callback_origin: Option<String>,
}

impl SandboxSettings {
    /// Where a webhook or validation request really goes: `deliver_to`
    /// replaces the origin.
    pub fn target_url(&self, url: &str) -> String {
        let Some(base) = &self.deliver_to else {
            return url.to_owned();
        };
        match (url::Url::parse(url), url::Url::parse(base)) {
            (Ok(original), Ok(mut target)) => {
                target.set_path(original.path());
                target.set_query(original.query());
                target.to_string()
            }
            _ => url.to_owned(),
        }
    }

    /// Whether a webhook or validation request may go to `url` (where it
    /// really goes, after `deliver_to`).
    pub fn callback_allowed(&self, url: &str) -> bool {
        let Ok(target) = url::Url::parse(&self.target_url(url)) else {
            return false;
        };
        if !matches!(target.scheme(), "http" | "https") {
            return false;
        }
        match &self.callback_origin {
            Some(origin) => target.origin().ascii_serialization() == *origin,
            None => match target.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                Some(url::Host::Domain(name)) => name == "localhost",
                None => false,
            },
        }
    }
}

/// Tunables the control API can change while the sandbox runs.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Tunables {
    pub access_token_ttl_secs: i64,
    /// Calendly keeps retrying a failed delivery for this long (really 24 h;
    /// compressed here) and then disables the subscription.
    pub calendly_retry_window_ms: u64,
    /// First retry delay; each next one doubles.
    pub retry_base_delay_ms: u64,
    /// Graph subscription validation must answer within this time (really 10 s).
    pub validation_timeout_ms: u64,
    /// Calendly rate limit per user per minute; 0 disables it.
    pub calendly_rate_limit_per_minute: u32,
    /// Google Calendar API queries per user per minute (429
    /// `rateLimitExceeded` with `Retry-After` beyond it); 0 disables it.
    pub google_rate_limit_per_minute: u32,
}

impl Default for Tunables {
    fn default() -> Self {
        Tunables {
            access_token_ttl_secs: 7200,
            calendly_retry_window_ms: 60_000,
            retry_base_delay_ms: 200,
            validation_timeout_ms: 10_000,
            calendly_rate_limit_per_minute: 0,
            google_rate_limit_per_minute: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standalone() -> SandboxSettings {
        SandboxSettings {
            base_url: "http://127.0.0.1:9/sandbox".into(),
            seed: 1,
            deliver_to: None,
            callback_origin: None,
        }
    }

    #[test]
    fn callbacks_go_only_to_the_allowed_origin() {
        let standalone = standalone();
        for ok in [
            "http://127.0.0.1:9/hook",
            "http://[::1]:3000/x",
            "http://localhost:3000/x",
        ] {
            assert!(standalone.callback_allowed(ok), "{ok}");
        }
        for refused in [
            "https://evil.test/hook",
            "http://10.0.0.1/x",
            "file:///etc/passwd",
            "nope",
        ] {
            assert!(!standalone.callback_allowed(refused), "{refused}");
        }
        let mounted = SandboxSettings {
            callback_origin: Some("http://127.0.0.1:3000".into()),
            ..standalone
        };
        assert!(mounted.callback_allowed("http://127.0.0.1:3000/webhooks/google"));
        assert!(!mounted.callback_allowed("http://127.0.0.1:3001/webhooks/google"));
        assert!(!mounted.callback_allowed("http://localhost:3000/webhooks/google"));
        assert!(!mounted.callback_allowed("https://evil.test/webhooks/google"));
    }
}
