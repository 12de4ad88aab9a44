//! The `calbridge` binary: `serve` (default), `migrate`, `rotate-key`,
//! `create-admin`, `api-key create`.

use calbridge::server::accounts;
use calbridge::server::app_state::{build_state, AppState};
use calbridge::server::http;
use calbridge::server::platform::config::{ApiKeyCommand, Cli, Command, Config};
use calbridge::server::platform::observability;
use clap::Parser;
use leptos::config::{get_configuration, LeptosOptions};
use std::process::ExitCode;

/// Leptos runtime settings: from cargo-leptos's environment when it started
/// us, otherwise from `Leptos.toml` (a deployed binary), otherwise defaults.
fn leptos_options(config: &Config) -> Result<LeptosOptions, String> {
    let from_cargo_leptos = std::env::var_os("LEPTOS_OUTPUT_NAME").is_some();
    let mut options = if from_cargo_leptos {
        get_configuration(None)
            .map_err(|e| format!("LEPTOS_*: {e}"))?
            .leptos_options
    } else if config.leptos_config.exists() {
        let path = config.leptos_config.to_string_lossy().into_owned();
        get_configuration(Some(&path))
            .map_err(|e| format!("CALBRIDGE_LEPTOS_CONFIG ({path}): {e}"))?
            .leptos_options
    } else {
        LeptosOptions::builder()
            .output_name("calbridge")
            .site_root("target/site")
            .site_pkg_dir("pkg")
            .build()
    };
    options.site_addr = config.addr;
    Ok(options)
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("calbridge: {message}");
    ExitCode::from(2)
}

/// `calbridge sandbox`: the provider emulators alone, on `--addr`.
#[cfg(feature = "sandbox")]
async fn run_standalone_sandbox(
    config: &Config,
    deliver_to: Option<String>,
    seed: u64,
    apps: &[String],
) -> ExitCode {
    if config.environment == calbridge::server::platform::config::Environment::Production {
        return fail("CALBRIDGE_ENV: the provider sandbox never runs in production");
    }
    // Its control API hands out every secret it holds: this machine only.
    if !config.addr.ip().is_loopback() {
        return fail(format!(
            "--addr: the standalone sandbox listens only on a loopback address, not {}",
            config.addr
        ));
    }
    let apps = match apps
        .iter()
        .map(|a| calbridge::sandbox::App::from_flag(a))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(apps) => apps,
        Err(e) => return fail(format!("--app: {e}")),
    };
    let listener = match tokio::net::TcpListener::bind(config.addr).await {
        Ok(l) => l,
        Err(e) => return fail(format!("--addr: cannot listen on {}: {e}", config.addr)),
    };
    let settings = calbridge::sandbox::SandboxSettings {
        base_url: format!("http://{}/sandbox", config.addr),
        seed,
        callback_origin: deliver_to
            .as_deref()
            .and_then(|d| url::Url::parse(d).ok())
            .map(|u| u.origin().ascii_serialization()),
        deliver_to,
    };
    println!(
        "provider sandbox listening on http://{}/sandbox",
        config.addr
    );
    match calbridge::sandbox::serve_standalone(settings, apps, listener, http::shutdown_signal())
        .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(format!("sandbox server error: {e}")),
    }
}

/// Opens the database (applying migrations) and the vault.
async fn open_state(config: &Config) -> Result<AppState, ExitCode> {
    let options = leptos_options(config).map_err(fail)?;
    build_state(config.clone(), options).await.map_err(fail)
}

async fn serve(config: &Config) -> ExitCode {
    let state = match open_state(config).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    if config.seed_demo {
        match accounts::seed_demo(&state.accounts, config.demo_password.as_deref()).await {
            Ok(Some(seed)) => {
                if seed.generated {
                    println!(
                        "\n  Demo tenant created. Log in at {} as admin@demo.test, alice@demo.test or bob@demo.test\n  with the password: {}\n  (shown only this once; set CALBRIDGE_DEMO_PASSWORD to choose it)\n",
                        config.public_link("/login"),
                        seed.password
                    );
                }
                if config.sandbox {
                    let base = config.public_link("");
                    tokio::spawn(async move {
                        if let Err(e) =
                            calbridge::server::demo::bring_to_life(&base, &seed.password).await
                        {
                            tracing::warn!(error = %e, "the demo's connections and meetings were not set up");
                        }
                    });
                }
            }
            Ok(None) => {}
            Err(e) => return fail(format!("seeding the demo tenant failed: {e}")),
        }
    }
    let listener = match tokio::net::TcpListener::bind(config.addr).await {
        Ok(l) => l,
        Err(e) => {
            return fail(format!(
                "LEPTOS_SITE_ADDR: cannot listen on {}: {e}",
                config.addr
            ))
        }
    };
    tracing::info!(addr = %config.addr, public_url = %config.public_url, sandbox = %config.sandbox_reason, "calbridge listening");
    match calbridge::web::serve(state, listener, http::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(format!("server error: {e}")),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    let config = match Config::from_settings(&cli.settings) {
        Ok(c) => c,
        Err(e) => return fail(format!("invalid configuration: {e}")),
    };
    observability::init_tracing();

    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&config).await,
        #[cfg(feature = "sandbox")]
        Command::Sandbox {
            deliver_to,
            seed,
            apps,
        } => run_standalone_sandbox(&config, deliver_to, seed, &apps).await,
        Command::Migrate => match open_state(&config).await {
            Ok(_) => {
                println!("migrations applied");
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Command::RotateKey => {
            let state = match open_state(&config).await {
                Ok(s) => s,
                Err(code) => return code,
            };
            match state.vault.rotate().await {
                Ok(report) => {
                    println!(
                        "new data key {} active; {} secrets re-encrypted; {} old keys removed",
                        report.new_key_id, report.reencrypted, report.keys_removed
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail(format!(
                    "key rotation failed (every secret is still readable): {e}"
                )),
            }
        }
        Command::CreateAdmin {
            email,
            name,
            tenant,
            password,
            time_zone,
        } => {
            let state = match open_state(&config).await {
                Ok(s) => s,
                Err(code) => return code,
            };
            match accounts::create_admin(
                &state.accounts,
                &tenant,
                &email,
                &name,
                &password,
                &time_zone,
            )
            .await
            {
                Ok(_) => {
                    println!("admin {email} created in tenant '{tenant}'");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(format!("create-admin: {}", e.public_message())),
            }
        }
        Command::ApiKey {
            action:
                ApiKeyCommand::Create {
                    email,
                    name,
                    scopes,
                    rate_limit,
                },
        } => {
            let state = match open_state(&config).await {
                Ok(s) => s,
                Err(code) => return code,
            };
            match calbridge::server::api_keys::create_for_admin(
                &state.api_keys,
                &email,
                &calbridge::server::api_keys::NewKey {
                    name: &name,
                    scopes: &scopes,
                    rate_limit_per_minute: rate_limit,
                },
            )
            .await
            {
                // Only the key on stdout, so a script can capture it.
                Ok(key) => {
                    println!("{key}");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(format!("api-key create: {e}")),
            }
        }
    }
}
