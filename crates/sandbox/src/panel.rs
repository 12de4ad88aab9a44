//! The HTML panel at `/sandbox`: accounts, apps, the providers' ground truth
//! and every webhook attempt, plus forms to act as an invitee (Calendly) or
//! a calendar owner (Google, Outlook).

use super::core::html::escape;
use super::core::{bad_request, OwnerEvent};
use super::{calendly, google, microsoft, Sandbox};
use crate::Provider;
use axum::extract::{Form, Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use std::collections::HashMap;

pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/", get(panel))
        .route("/panel/calendly/book", post(book))
        .route("/panel/calendly/cancel/{uuid}", post(cancel))
        .route("/panel/{provider}/event", post(owner_event))
}

const STYLE: &str = "<style>
body{font-family:system-ui,sans-serif;margin:0;background:#f6f7fb;color:#1c2233;font-size:14px}
header{background:#1c2233;color:#fff;padding:.9rem 1.5rem;display:flex;gap:1rem;align-items:center}
header .tag{background:#fec84b;color:#1c2233;font-weight:700;border-radius:999px;padding:.1rem .6rem;font-size:.75rem}
main{max-width:1200px;margin:0 auto;padding:1.25rem;display:grid;grid-template-columns:repeat(auto-fit,minmax(340px,1fr));gap:1rem}
section{background:#fff;border:1px solid #e3e6ee;border-radius:12px;padding:1rem 1.25rem}
section.wide{grid-column:1/-1}
h2{font-size:1rem;margin:0 0 .75rem}
section{overflow-x:auto}table{width:100%;border-collapse:collapse}td,th{text-align:left;padding:.35rem .4rem;border-bottom:1px solid #eef0f4;vertical-align:top;overflow-wrap:anywhere}
th{color:#667085;font-size:.75rem;text-transform:uppercase}
form.grid{display:grid;grid-template-columns:1fr 1fr;gap:.5rem}form.grid label{display:flex;flex-direction:column;font-size:.8rem;color:#667085}
input,select{font:inherit;padding:.4rem .5rem;border:1px solid #d0d5dd;border-radius:6px}
button{font:inherit;font-weight:600;padding:.45rem .8rem;border-radius:6px;border:1px solid #4f46e5;background:#4f46e5;color:#fff;cursor:pointer}
button.small{padding:.15rem .5rem;font-size:.8rem;background:#fff;color:#d92d20;border-color:#fecdca}
.ok{color:#067647;font-weight:600}.bad{color:#d92d20;font-weight:600}.muted{color:#667085}
pre{background:#f6f7fb;border-radius:8px;padding:.6rem;max-height:320px;overflow:auto;font-size:.75rem}
</style>";

async fn panel(State(s): State<Sandbox>) -> Response {
    let world = s.world();
    let now = world.now();
    let account_rows: String = world
        .accounts
        .iter()
        .map(|a| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=muted>{}</td></tr>",
                a.provider.label(),
                escape(&a.email),
                escape(&a.plan),
                escape(&a.id)
            )
        })
        .collect();
    let app_rows: String = world
        .apps
        .iter()
        .map(|a| {
            format!(
                "<tr><td>{}</td><td>{}</td><td class=muted>{}</td></tr>",
                a.provider.label(),
                escape(&a.client_id),
                escape(&a.redirect_uris.join(", "))
            )
        })
        .collect();
    let mut bookings = String::new();
    for account in world
        .accounts
        .iter()
        .filter(|a| a.provider == Provider::Calendly)
    {
        let truth = calendly::truth(s.base(), &world, account);
        for event in truth["events"].as_array().into_iter().flatten() {
            let uuid = event["uuid"].as_str().unwrap_or_default();
            let active = event["status"] == "active";
            let invitees: Vec<String> = event["invitees"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|i| {
                    format!(
                        "{} ({})",
                        i["name"].as_str().unwrap_or(""),
                        i["status"].as_str().unwrap_or("")
                    )
                })
                .collect();
            bookings.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class={}>{}</td><td>{}</td></tr>",
                escape(&account.email),
                escape(event["name"].as_str().unwrap_or("")),
                escape(event["start_time"].as_str().unwrap_or("")),
                if active { "ok" } else { "bad" },
                escape(event["status"].as_str().unwrap_or("")),
                if active {
                    format!(
                        "{} <form method=post action=\"{}/panel/calendly/cancel/{}\" style=display:inline><button class=small>Cancel</button></form>",
                        escape(&invitees.join(", ")),
                        s.path_prefix(),
                        escape(uuid)
                    )
                } else {
                    escape(&invitees.join(", "))
                }
            ));
        }
    }
    let mut truths = String::new();
    for account in world
        .accounts
        .iter()
        .filter(|a| a.provider != Provider::Calendly)
    {
        let t = match account.provider {
            Provider::Google => google::truth(&world, account),
            _ => microsoft::truth(&world, account),
        };
        truths.push_str(&format!(
            "<details><summary>{} — {}</summary><pre>{}</pre></details>",
            account.provider.label(),
            escape(&account.email),
            escape(&serde_json::to_string_pretty(&t).unwrap_or_default())
        ));
    }
    drop(world);
    let attempts = s.deliveries().attempts();
    let delivery_rows: String = attempts
        .iter()
        .rev()
        .take(40)
        .map(|a| {
            format!(
                "<tr><td class=muted>{}</td><td>{}</td><td>{}</td><td class={}>{}</td><td>{} ms</td><td class=muted>{}</td></tr>",
                a.at.format("%H:%M:%S"),
                a.provider.label(),
                escape(&a.label),
                if a.outcome == "delivered" { "ok" } else { "bad" },
                a.status.map(|s| s.to_string()).unwrap_or_else(|| a.outcome.to_owned()),
                a.latency_ms,
                escape(&a.url)
            )
        })
        .collect();
    let emails = |p: Provider| -> String {
        s.world()
            .accounts
            .iter()
            .filter(|a| a.provider == p)
            .map(|a| format!("<option>{}</option>", escape(&a.email)))
            .collect()
    };
    let start = (now + chrono::Duration::days(1))
        .format("%Y-%m-%dT10:00:00Z")
        .to_string();
    let end = (now + chrono::Duration::days(1))
        .format("%Y-%m-%dT10:30:00Z")
        .to_string();
    let owner_form = |p: Provider| {
        format!(
            "<section><h2>{label}: add an event as its owner</h2><form class=grid method=post action=\"{prefix}/panel/{p}/event\">\
             <label>Owner<select name=owner_email>{opts}</select></label><label>Title<input name=summary value=\"Planning\"></label>\
             <label>Start (UTC)<input name=start value=\"{start}\"></label><label>End (UTC)<input name=end value=\"{end}\"></label>\
             <div><button>Create event</button></div></form></section>",
            label = p.label(),
            p = p.as_str(),
            opts = emails(p),
            prefix = s.path_prefix(),
        )
    };
    Html(format!(
        "<!DOCTYPE html><html><head><meta charset=utf-8><title>Provider sandbox</title>{STYLE}</head><body>\
         <header><strong>Provider sandbox</strong><span class=tag>Sandbox providers</span>\
         <span class=muted>Calendly · Google Calendar · Microsoft Graph — local emulators speaking the real wire formats</span></header><main>\
         <section><h2>Calendly: book as an invitee</h2><form class=grid method=post action=\"{prefix}/panel/calendly/book\">\
         <label>Host<select name=host_email>{cal}</select></label><label>Event<input name=event_name value=\"30 Minute Meeting\"></label>\
         <label>Invitee name<input name=invitee_name value=\"Ivy Invitee\"></label><label>Invitee email<input name=invitee_email value=\"ivy@example.com\"></label>\
         <label>Start (UTC)<input name=start_time value=\"{start}\"></label><label>End (UTC)<input name=end_time value=\"{end}\"></label>\
         <div><button>Book</button></div></form></section>\
         {google_form}{ms_form}\
         <section class=wide><h2>Calendly bookings</h2><table><tr><th>Host</th><th>Event</th><th>Start</th><th>Status</th><th>Invitees</th></tr>{bookings}</table></section>\
         <section class=wide><h2>Webhook deliveries (latest 40)</h2><table><tr><th>Time</th><th>Provider</th><th>Event</th><th>Result</th><th>Latency</th><th>URL</th></tr>{delivery_rows}</table></section>\
         <section class=wide><h2>Calendars (ground truth)</h2>{truths}</section>\
         <section><h2>Accounts</h2><table><tr><th>Provider</th><th>Email</th><th>Plan</th><th>Id</th></tr>{account_rows}</table></section>\
         <section><h2>OAuth apps</h2><table><tr><th>Provider</th><th>Client id</th><th>Redirect URIs</th></tr>{app_rows}</table></section>\
         </main></body></html>",
        cal = emails(Provider::Calendly),
        google_form = owner_form(Provider::Google),
        ms_form = owner_form(Provider::Microsoft),
        prefix = s.path_prefix(),
    ))
    .into_response()
}

async fn book(State(s): State<Sandbox>, Form(form): Form<calendly::BookingRequest>) -> Response {
    match calendly::book(&s, form) {
        Ok(_) => Redirect::to(&s.path_prefix()).into_response(),
        Err(response) => response,
    }
}

async fn cancel(State(s): State<Sandbox>, Path(uuid): Path<String>) -> Response {
    match calendly::cancel(&s, &uuid, "Canceled in the sandbox panel") {
        Ok(_) => Redirect::to(&s.path_prefix()).into_response(),
        Err(response) => response,
    }
}

async fn owner_event(
    State(s): State<Sandbox>,
    Path(provider): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    let event = OwnerEvent {
        owner_email: field("owner_email"),
        summary: field("summary"),
        start: field("start"),
        end: field("end"),
        attendees: Vec::new(),
        online_meeting: false,
        calendar_id: None,
        free: false,
        time_zone: None,
        all_day: false,
        repeat: None,
    };
    let result = match provider.parse::<Provider>() {
        Ok(Provider::Google) => google::create_owner_event(&s, event),
        Ok(Provider::Microsoft) => microsoft::create_owner_event(&s, event),
        _ => return bad_request("unknown provider"),
    };
    match result {
        Ok(_) => Redirect::to(&s.path_prefix()).into_response(),
        Err(response) => response,
    }
}
