//! One validated configuration, read from the command line and environment.
//! Every value is checked once at start-up; a bad one stops the process with
//! one line that names the variable.

use clap::{Args, Parser, Subcommand};
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use url::Url;

#[derive(Parser, Debug)]
#[command(
    name = "calbridge",
    version,
    about = "Calendar integrations for multi-tenant products"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub settings: Settings,
}

#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// Run the web server (default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Add a new data key and re-encrypt every stored secret with it.
    RotateKey,
    /// Run the provider sandbox on its own (no database needed).
    /// Listens on `--addr`.
    #[cfg(feature = "sandbox")]
    Sandbox {
        /// Send every webhook to this origin instead of the registered URL's.
        #[arg(long)]
        deliver_to: Option<String>,
        /// Seed for ids, tokens and injected faults.
        #[arg(long, default_value = "1")]
        seed: u64,
        /// Register an OAuth app at start (repeatable).
        #[arg(
            long = "app",
            value_name = "PROVIDER,CLIENT_ID,CLIENT_SECRET,REDIRECT_URI"
        )]
        apps: Vec<String>,
    },
    /// Create an admin account (and its tenant when it does not exist yet).
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "Admin")]
        name: String,
        /// Tenant to create the admin in; created when no tenant has this name.
        #[arg(long, default_value = "My team")]
        tenant: String,
        /// Read from the environment so it never appears in shell history.
        #[arg(long, env = "CALBRIDGE_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long, default_value = "UTC")]
        time_zone: String,
    },
    /// Manage API keys for the booking API and MCP.
    ApiKey {
        #[command(subcommand)]
        action: ApiKeyCommand,
    },
}

#[derive(Subcommand, Debug, Clone)]
pub enum ApiKeyCommand {
    /// Create a key in the team of an admin; prints only the key.
    Create {
        /// An admin of the team the key acts for.
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// Comma-separated: availability:read, bookings:read, bookings:write,
        /// appointments:read, appointments:write, audit:read.
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "availability:read,bookings:read,bookings:write"
        )]
        scopes: Vec<crate::model::ApiScope>,
        /// Requests the key may make a minute (default 120).
        #[arg(long)]
        rate_limit: Option<i64>,
    },
}

/// Raw settings as given; [`Config::from_settings`] validates them.
#[derive(Args, Clone)]
pub struct Settings {
    /// `sqlite://path` or `postgres://…`.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    #[arg(
        long,
        env = "CALBRIDGE_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: String,
    /// Externally reachable base URL (OAuth redirect URIs, webhook URLs).
    #[arg(long, env = "CALBRIDGE_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// Base64 of 32 random bytes. Generated into the data dir in dev when absent.
    #[arg(
        long,
        env = "CALBRIDGE_MASTER_KEY",
        hide_env_values = true,
        global = true
    )]
    pub master_key: Option<String>,
    /// Listen address.
    #[arg(long = "addr", env = "LEPTOS_SITE_ADDR", global = true)]
    pub addr: Option<String>,
    /// `dev` seeds a demo tenant and may generate a master key; `production` does neither.
    #[arg(
        long = "env",
        env = "CALBRIDGE_ENV",
        default_value = "dev",
        global = true
    )]
    pub environment: String,
    #[arg(
        long,
        env = "CALBRIDGE_SESSION_TTL_SECS",
        default_value = "1209600",
        global = true
    )]
    pub session_ttl_secs: String,
    /// Seed a demo tenant on an empty dev instance (`0` turns it off).
    #[arg(long, env = "CALBRIDGE_DEMO", default_value = "1", global = true)]
    pub demo: String,
    /// Password for the demo accounts; made up and printed once when unset.
    #[arg(
        long,
        env = "CALBRIDGE_DEMO_PASSWORD",
        hide_env_values = true,
        global = true
    )]
    pub demo_password: Option<String>,
    /// Built-in provider sandbox: `auto` (on in dev when no provider
    /// credentials are configured), `1` or `0`.
    #[arg(long, env = "CALBRIDGE_SANDBOX", default_value = "auto", global = true)]
    pub sandbox: String,
    /// Database pool size (default: 8 for SQLite, 16 for PostgreSQL).
    #[arg(long, env = "CALBRIDGE_DB_MAX_CONNECTIONS", global = true)]
    pub db_max_connections: Option<String>,
    /// Run background job workers in this instance (`0`: web only, e.g.
    /// when dedicated worker instances share the PostgreSQL database).
    #[arg(long, env = "CALBRIDGE_WORKERS", default_value = "1", global = true)]
    pub workers: String,
    /// Webhook events older than this many days are purged.
    #[arg(
        long,
        env = "CALBRIDGE_RETENTION_DAYS",
        default_value = "30",
        global = true
    )]
    pub retention_days: String,
    #[command(flatten)]
    pub providers: ProviderSettings,
    #[command(flatten)]
    pub security: SecuritySettings,
    /// Leptos runtime settings for a binary started outside cargo-leptos.
    #[arg(
        long,
        env = "CALBRIDGE_LEPTOS_CONFIG",
        default_value = "Leptos.toml",
        global = true
    )]
    pub leptos_config: String,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field(
                "database_url",
                &self.database_url.as_deref().map(redact_url),
            )
            .field("data_dir", &self.data_dir)
            .field("public_url", &self.public_url)
            .field("master_key", &self.master_key.as_ref().map(|_| "***"))
            .field("addr", &self.addr)
            .field("environment", &self.environment)
            .field("sandbox", &self.sandbox)
            .field("providers", &self.providers)
            .finish()
    }
}

/// Who may be believed about client addresses, and who may read metrics.
#[derive(Args, Clone, Default)]
pub struct SecuritySettings {
    /// Reverse proxies (IPs or CIDRs, comma-separated) whose
    /// `X-Forwarded-For` names the real client.
    #[arg(long, env = "CALBRIDGE_TRUSTED_PROXIES", global = true)]
    pub trusted_proxies: Option<String>,
    /// When set, `/metrics` needs `Authorization: Bearer <token>`.
    #[arg(
        long,
        env = "CALBRIDGE_METRICS_TOKEN",
        hide_env_values = true,
        global = true
    )]
    pub metrics_token: Option<String>,
}

impl fmt::Debug for SecuritySettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecuritySettings")
            .field("trusted_proxies", &self.trusted_proxies)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Instance-wide OAuth apps and provider base-URL overrides.
#[derive(Args, Clone, Default)]
pub struct ProviderSettings {
    #[arg(long, env = "CALENDLY_OAUTH_CLIENT_ID", global = true)]
    pub calendly_client_id: Option<String>,
    #[arg(
        long,
        env = "CALENDLY_OAUTH_CLIENT_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub calendly_client_secret: Option<String>,
    #[arg(long, env = "GOOGLE_OAUTH_CLIENT_ID", global = true)]
    pub google_client_id: Option<String>,
    #[arg(
        long,
        env = "GOOGLE_OAUTH_CLIENT_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub google_client_secret: Option<String>,
    #[arg(long, env = "MICROSOFT_OAUTH_CLIENT_ID", global = true)]
    pub microsoft_client_id: Option<String>,
    #[arg(
        long,
        env = "MICROSOFT_OAUTH_CLIENT_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub microsoft_client_secret: Option<String>,
    /// e.g. `https://auth.calendly.com`
    #[arg(long, env = "CALENDLY_AUTH_BASE_URL", global = true)]
    pub calendly_auth_base_url: Option<String>,
    /// e.g. `https://api.calendly.com`
    #[arg(long, env = "CALENDLY_API_BASE_URL", global = true)]
    pub calendly_api_base_url: Option<String>,
    /// Base of `/auth`, `/token` and `/revoke` (the real Google uses two hosts).
    #[arg(long, env = "GOOGLE_AUTH_BASE_URL", global = true)]
    pub google_auth_base_url: Option<String>,
    /// e.g. `https://www.googleapis.com`
    #[arg(long, env = "GOOGLE_API_BASE_URL", global = true)]
    pub google_api_base_url: Option<String>,
    /// e.g. `https://login.microsoftonline.com/common/oauth2/v2.0`
    #[arg(long, env = "MICROSOFT_AUTH_BASE_URL", global = true)]
    pub microsoft_auth_base_url: Option<String>,
    /// e.g. `https://graph.microsoft.com/v1.0`
    #[arg(long, env = "MICROSOFT_API_BASE_URL", global = true)]
    pub microsoft_api_base_url: Option<String>,
}

impl fmt::Debug for ProviderSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = |v: &Option<String>| v.as_ref().map(|_| "***");
        f.debug_struct("ProviderSettings")
            .field("calendly_client_id", &self.calendly_client_id)
            .field(
                "calendly_client_secret",
                &secret(&self.calendly_client_secret),
            )
            .field("google_client_id", &self.google_client_id)
            .field("google_client_secret", &secret(&self.google_client_secret))
            .field("microsoft_client_id", &self.microsoft_client_id)
            .field(
                "microsoft_client_secret",
                &secret(&self.microsoft_client_secret),
            )
            .field("calendly_auth_base_url", &self.calendly_auth_base_url)
            .field("calendly_api_base_url", &self.calendly_api_base_url)
            .field("google_auth_base_url", &self.google_auth_base_url)
            .field("google_api_base_url", &self.google_api_base_url)
            .field("microsoft_auth_base_url", &self.microsoft_auth_base_url)
            .field("microsoft_api_base_url", &self.microsoft_api_base_url)
            .finish()
    }
}

/// An instance-wide OAuth app from the environment. The secret is never printed.
#[derive(Clone)]
pub struct InstanceApp {
    pub provider: crate::model::Provider,
    pub client_id: String,
    pub client_secret: String,
}

impl fmt::Debug for InstanceApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstanceApp")
            .field("provider", &self.provider)
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .finish()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Dev,
    Production,
}

/// A configuration error names the variable and says what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

fn bad(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        problem: problem.into(),
    }
}

/// The master key as given; never printed.
#[derive(Clone)]
pub struct MasterKeyInput(pub [u8; 32]);

impl fmt::Debug for MasterKeyInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[derive(Clone)]
pub struct Config {
    pub database_url: String,
    pub data_dir: PathBuf,
    pub public_url: Url,
    pub master_key: Option<MasterKeyInput>,
    pub addr: SocketAddr,
    pub environment: Environment,
    pub session_ttl: Duration,
    pub leptos_config: PathBuf,
    pub seed_demo: bool,
    pub demo_password: Option<String>,
    /// Serve the provider sandbox under `/sandbox` and point every provider at it.
    pub sandbox: bool,
    /// Why the sandbox is on or off, for the start-up log.
    pub sandbox_reason: String,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Bearer token `/metrics` asks for, when set.
    pub metrics_token: Option<String>,
    /// How long webhook events are kept.
    pub retention: Duration,
    /// Run background job workers in this instance.
    pub workers: bool,
    pub db_max_connections: Option<u32>,
    /// Instance-wide OAuth apps configured in the environment.
    pub instance_apps: Vec<InstanceApp>,
    /// Where each provider lives (the sandbox's URLs when it is on).
    pub endpoints: crate::server::platform::endpoints::ProviderEndpoints,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &redact_url(&self.database_url))
            .field("data_dir", &self.data_dir)
            .field("public_url", &self.public_url.as_str())
            .field("master_key", &self.master_key)
            .field("addr", &self.addr)
            .field("environment", &self.environment)
            .field("session_ttl", &self.session_ttl)
            .field("seed_demo", &self.seed_demo)
            .field("demo_password", &self.demo_password.as_ref().map(|_| "***"))
            .field("sandbox", &self.sandbox)
            .field("sandbox_reason", &self.sandbox_reason)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "***"))
            .field("retention", &self.retention)
            .field("instance_apps", &self.instance_apps)
            .field("endpoints", &self.endpoints)
            .finish()
    }
}

/// Hides the password part of a connection URL.
pub fn redact_url(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        Ok(url) => url.to_string(),
        Err(_) => "<unparseable>".to_owned(),
    }
}

impl Config {
    pub fn from_settings(s: &Settings) -> Result<Self, ConfigError> {
        use base64::Engine;

        let data_dir = PathBuf::from(&s.data_dir);
        if s.data_dir.trim().is_empty() {
            return Err(bad("CALBRIDGE_DATA_DIR", "must not be empty"));
        }

        let database_url = match &s.database_url {
            Some(url) if !url.trim().is_empty() => url.trim().to_owned(),
            _ => format!("sqlite://{}/calbridge.db", s.data_dir.trim_end_matches('/')),
        };
        if let Err(e) = crate::server::platform::db::Backend::of_url(&database_url) {
            return Err(bad("DATABASE_URL", e.to_string()));
        }

        let addr_text = s
            .addr
            .clone()
            .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
        let addr: SocketAddr = addr_text.parse().map_err(|_| {
            bad(
                "LEPTOS_SITE_ADDR",
                format!("'{addr_text}' is not an IP:port address"),
            )
        })?;

        let public_text = s
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        let public_url = Url::parse(&public_text)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| {
                bad(
                    "CALBRIDGE_PUBLIC_URL",
                    format!("'{public_text}' is not an absolute http(s) URL"),
                )
            })?;

        let master_key = match s.master_key.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .map_err(|_| bad("CALBRIDGE_MASTER_KEY", "is not valid base64"))?;
                let key: [u8; 32] = bytes
                    .try_into()
                    .map_err(|_| bad("CALBRIDGE_MASTER_KEY", "must decode to exactly 32 bytes"))?;
                Some(MasterKeyInput(key))
            }
        };

        let environment = match s.environment.as_str() {
            "dev" | "development" => Environment::Dev,
            "prod" | "production" => Environment::Production,
            other => {
                return Err(bad(
                    "CALBRIDGE_ENV",
                    format!("'{other}' is neither 'dev' nor 'production'"),
                ))
            }
        };
        if environment == Environment::Production && master_key.is_none() {
            return Err(bad(
                "CALBRIDGE_MASTER_KEY",
                "is required in production (base64 of 32 random bytes, e.g. `openssl rand -base64 32`)",
            ));
        }

        let session_ttl_secs: u64 = s
            .session_ttl_secs
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                bad(
                    "CALBRIDGE_SESSION_TTL_SECS",
                    "must be a positive number of seconds",
                )
            })?;

        let seed_demo = match s.demo.as_str() {
            "1" | "true" | "yes" => environment == Environment::Dev,
            "0" | "false" | "no" => false,
            other => return Err(bad("CALBRIDGE_DEMO", format!("'{other}' is not 1 or 0"))),
        };

        let p = &s.providers;
        let instance_apps: Vec<InstanceApp> = [
            (
                crate::model::Provider::Calendly,
                &p.calendly_client_id,
                &p.calendly_client_secret,
            ),
            (
                crate::model::Provider::Google,
                &p.google_client_id,
                &p.google_client_secret,
            ),
            (
                crate::model::Provider::Microsoft,
                &p.microsoft_client_id,
                &p.microsoft_client_secret,
            ),
        ]
        .into_iter()
        .filter_map(|(provider, id, secret)| {
            let id = id.as_deref().filter(|v| !v.is_empty())?;
            let secret = secret.as_deref().filter(|v| !v.is_empty())?;
            Some(InstanceApp {
                provider,
                client_id: id.to_owned(),
                client_secret: secret.to_owned(),
            })
        })
        .collect();
        let base_url = |variable: &'static str,
                        value: &Option<String>|
         -> Result<Option<String>, ConfigError> {
            match value.as_deref().filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(v) => Url::parse(v)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https"))
                    .map(|_| Some(v.to_owned()))
                    .ok_or_else(|| bad(variable, format!("'{v}' is not an absolute http(s) URL"))),
            }
        };
        let overrides = crate::server::platform::endpoints::BaseUrls {
            calendly_auth: base_url("CALENDLY_AUTH_BASE_URL", &p.calendly_auth_base_url)?,
            calendly_api: base_url("CALENDLY_API_BASE_URL", &p.calendly_api_base_url)?,
            google_auth: base_url("GOOGLE_AUTH_BASE_URL", &p.google_auth_base_url)?,
            google_api: base_url("GOOGLE_API_BASE_URL", &p.google_api_base_url)?,
            microsoft_auth: base_url("MICROSOFT_AUTH_BASE_URL", &p.microsoft_auth_base_url)?,
            microsoft_api: base_url("MICROSOFT_API_BASE_URL", &p.microsoft_api_base_url)?,
        };
        let production = environment == Environment::Production;
        let (sandbox, sandbox_reason) = match s.sandbox.as_str() {
            "1" | "true" | "yes" if !cfg!(feature = "sandbox") => {
                return Err(bad(
                    "CALBRIDGE_SANDBOX",
                    "this build has no provider sandbox (built without the `sandbox` feature)",
                ))
            }
            "1" | "true" | "yes" if production => {
                return Err(bad(
                    "CALBRIDGE_SANDBOX",
                    "the provider sandbox never runs with CALBRIDGE_ENV=production; set it to 0 or leave it unset",
                ))
            }
            "1" | "true" | "yes" => (true, "on: CALBRIDGE_SANDBOX=1".to_owned()),
            "0" | "false" | "no" => (false, "off: CALBRIDGE_SANDBOX=0".to_owned()),
            "auto" if !cfg!(feature = "sandbox") => {
                (false, "off: not part of this build".to_owned())
            }
            "auto" if production => (false, "off: CALBRIDGE_ENV=production".to_owned()),
            "auto" if !instance_apps.is_empty() => (
                false,
                "off: provider OAuth credentials are configured".to_owned(),
            ),
            "auto" if !addr.ip().is_loopback() => (
                false,
                format!("off: listening on {addr}, which is not a loopback address (CALBRIDGE_SANDBOX=1 forces it on in dev)"),
            ),
            "auto" => (
                true,
                "on: dev, no provider credentials, listening on loopback".to_owned(),
            ),
            other => {
                return Err(bad(
                    "CALBRIDGE_SANDBOX",
                    format!("'{other}' is not auto, 1 or 0"),
                ))
            }
        };

        let trusted_proxies = s
            .security
            .trusted_proxies
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<ipnet::IpNet>()
                    .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        bad(
                            "CALBRIDGE_TRUSTED_PROXIES",
                            format!("'{p}' is not an IP address or CIDR range"),
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let metrics_token = match s.security.metrics_token.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(t) if t.len() < 16 => {
                return Err(bad(
                    "CALBRIDGE_METRICS_TOKEN",
                    "must be at least 16 characters",
                ))
            }
            Some(t) => Some(t.to_owned()),
        };

        let retention_days: u64 = s
            .retention_days
            .parse()
            .ok()
            .filter(|d| (1..=3650).contains(d))
            .ok_or_else(|| {
                bad(
                    "CALBRIDGE_RETENTION_DAYS",
                    "must be a number of days from 1 to 3650",
                )
            })?;

        let workers = match s.workers.as_str() {
            "1" | "true" | "yes" => true,
            "0" | "false" | "no" => false,
            other => return Err(bad("CALBRIDGE_WORKERS", format!("'{other}' is not 1 or 0"))),
        };

        let db_max_connections =
            match s.db_max_connections.as_deref() {
                None | Some("") => None,
                Some(n) => Some(n.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    bad("CALBRIDGE_DB_MAX_CONNECTIONS", "must be a positive number")
                })?),
            };

        let endpoints = if sandbox {
            crate::server::platform::endpoints::ProviderEndpoints::sandbox(&format!(
                "{}/sandbox",
                public_url.as_str().trim_end_matches('/')
            ))
        } else {
            crate::server::platform::endpoints::ProviderEndpoints::resolve(&overrides)
        };

        Ok(Config {
            database_url,
            data_dir,
            public_url,
            master_key,
            addr,
            environment,
            session_ttl: Duration::from_secs(session_ttl_secs),
            leptos_config: PathBuf::from(&s.leptos_config),
            seed_demo,
            demo_password: s.demo_password.clone().filter(|p| !p.is_empty()),
            sandbox,
            sandbox_reason,
            trusted_proxies,
            metrics_token,
            retention: Duration::from_secs(retention_days * 24 * 3600),
            workers,
            db_max_connections,
            instance_apps,
            endpoints,
        })
    }

    /// The origin browsers send for our own pages, e.g. `http://127.0.0.1:3000`.
    pub fn public_origin(&self) -> String {
        self.public_url.origin().ascii_serialization()
    }

    pub fn cookies_secure(&self) -> bool {
        self.public_url.scheme() == "https"
    }

    /// An absolute URL under the public base.
    pub fn public_link(&self, path_and_query: &str) -> String {
        format!(
            "{}{}",
            self.public_url.as_str().trim_end_matches('/'),
            path_and_query
        )
    }

    /// The exact redirect URI to register at `provider`.
    pub fn redirect_uri(&self, provider: crate::model::Provider) -> String {
        self.public_link(&format!("/oauth/{}/callback", provider.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            database_url: None,
            data_dir: "./data".into(),
            public_url: None,
            master_key: None,
            addr: None,
            environment: "dev".into(),
            session_ttl_secs: "60".into(),
            leptos_config: "Leptos.toml".into(),
            demo: "1".into(),
            demo_password: None,
            sandbox: "auto".into(),
            workers: "1".into(),
            db_max_connections: None,
            retention_days: "30".into(),
            providers: ProviderSettings::default(),
            security: SecuritySettings::default(),
        }
    }

    #[test]
    fn defaults_are_valid() {
        let c = Config::from_settings(&settings()).unwrap();
        assert_eq!(c.database_url, "sqlite://./data/calbridge.db");
        assert_eq!(c.public_origin(), "http://127.0.0.1:3000");
        assert!(!c.cookies_secure());
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        type Mutation = fn(&mut Settings);
        let cases: Vec<(Mutation, &str)> = vec![
            (
                |s| s.database_url = Some("mysql://x".into()),
                "DATABASE_URL",
            ),
            (|s| s.addr = Some("localhost".into()), "LEPTOS_SITE_ADDR"),
            (
                |s| s.retention_days = "0".into(),
                "CALBRIDGE_RETENTION_DAYS",
            ),
            (
                |s| s.public_url = Some("not a url".into()),
                "CALBRIDGE_PUBLIC_URL",
            ),
            (
                |s| s.master_key = Some("%%%".into()),
                "CALBRIDGE_MASTER_KEY",
            ),
            (
                |s| s.master_key = Some("c2hvcnQ=".into()),
                "CALBRIDGE_MASTER_KEY",
            ),
            (|s| s.environment = "staging".into(), "CALBRIDGE_ENV"),
            (
                |s| s.session_ttl_secs = "0".into(),
                "CALBRIDGE_SESSION_TTL_SECS",
            ),
            (
                |s| s.environment = "production".into(),
                "CALBRIDGE_MASTER_KEY",
            ),
        ];
        for (mutate, variable) in cases {
            let mut s = settings();
            mutate(&mut s);
            let err = Config::from_settings(&s).expect_err("must be rejected");
            assert_eq!(err.variable, variable, "{err}");
            assert!(err.to_string().starts_with(variable));
        }
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let mut s = settings();
        s.master_key = Some("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into());
        s.database_url = Some("postgres://app:hunter2@db/calbridge".into());
        let c = Config::from_settings(&s).unwrap();
        for text in [format!("{c:?}"), format!("{s:?}")] {
            assert!(!text.contains("hunter2"), "{text}");
            assert!(!text.contains("AAECAwQF"), "{text}");
            assert!(text.contains("***"));
        }
    }

    #[test]
    fn sandbox_is_automatic_in_dev_without_credentials() {
        assert!(Config::from_settings(&settings()).unwrap().sandbox);
        let mut s = settings();
        s.providers.google_client_id = Some("id".into());
        s.providers.google_client_secret = Some("secret".into());
        let c = Config::from_settings(&s).unwrap();
        assert!(
            !c.sandbox,
            "real credentials turn the automatic sandbox off"
        );
        assert_eq!(c.instance_apps.len(), 1);
        assert_eq!(c.instance_apps[0].provider, crate::model::Provider::Google);
        assert!(
            !format!("{c:?}").contains("secret\""),
            "instance secrets are redacted"
        );
        assert_eq!(
            c.endpoints.google.token_url,
            "https://oauth2.googleapis.com/token"
        );
        assert!(!format!("{s:?}").contains("secret\""));
        s.sandbox = "1".into();
        assert!(Config::from_settings(&s).unwrap().sandbox);
        s.sandbox = "maybe".into();
        assert_eq!(
            Config::from_settings(&s).unwrap_err().variable,
            "CALBRIDGE_SANDBOX"
        );
    }

    #[test]
    fn the_sandbox_never_faces_production_or_the_network() {
        let mut s = settings();
        s.environment = "production".into();
        s.master_key = Some(base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            [7u8; 32],
        ));
        let c = Config::from_settings(&s).unwrap();
        assert!(!c.sandbox, "auto stays off in production");
        assert!(c.sandbox_reason.contains("production"));
        for forced in ["1", "true", "yes"] {
            s.sandbox = forced.into();
            let e = Config::from_settings(&s).unwrap_err();
            assert_eq!(e.variable, "CALBRIDGE_SANDBOX");
            assert!(e.problem.contains("production"), "{e}");
        }

        let mut s = settings();
        for public in ["0.0.0.0:3000", "192.168.1.20:3000", "[::]:3000"] {
            s.addr = Some(public.into());
            let c = Config::from_settings(&s).unwrap();
            assert!(!c.sandbox, "auto is off on {public}");
            assert!(
                c.sandbox_reason.contains("not a loopback"),
                "{}",
                c.sandbox_reason
            );
        }
        for loopback in ["127.0.0.1:3000", "[::1]:3000"] {
            s.addr = Some(loopback.into());
            assert!(Config::from_settings(&s).unwrap().sandbox, "{loopback}");
        }
        s.addr = Some("0.0.0.0:3000".into());
        s.sandbox = "1".into();
        assert!(
            Config::from_settings(&s).unwrap().sandbox,
            "forced on in dev"
        );
    }

    #[test]
    fn trusted_proxies_and_metrics_token_are_validated() {
        let mut s = settings();
        s.security.trusted_proxies = Some("10.0.0.0/8, 127.0.0.1,::1".into());
        let c = Config::from_settings(&s).unwrap();
        assert_eq!(c.trusted_proxies.len(), 3);
        s.security.trusted_proxies = Some("10.0.0.0/8,proxy.local".into());
        assert_eq!(
            Config::from_settings(&s).unwrap_err().variable,
            "CALBRIDGE_TRUSTED_PROXIES"
        );
        let mut s = settings();
        s.security.metrics_token = Some("short".into());
        assert_eq!(
            Config::from_settings(&s).unwrap_err().variable,
            "CALBRIDGE_METRICS_TOKEN"
        );
        s.security.metrics_token = Some("a-long-enough-metrics-token".into());
        let c = Config::from_settings(&s).unwrap();
        assert!(!format!("{c:?}").contains("a-long-enough"), "redacted");
    }

    #[test]
    fn unknown_sandbox_values_are_refused() {
        let mut s = settings();
        s.sandbox = "maybe".into();
        assert_eq!(
            Config::from_settings(&s).unwrap_err().variable,
            "CALBRIDGE_SANDBOX"
        );
    }

    #[test]
    fn https_public_url_makes_cookies_secure() {
        let mut s = settings();
        s.public_url = Some("https://cal.example.com/".into());
        let c = Config::from_settings(&s).unwrap();
        assert!(c.cookies_secure());
        assert_eq!(
            c.public_link("/signup?invite=x"),
            "https://cal.example.com/signup?invite=x"
        );
    }
}
