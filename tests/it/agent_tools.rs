//! The booking API as agent tools, over real HTTP: the strict definitions
//! function-calling clients load, calling them over REST, and the MCP
//! server at `/mcp` driven by the official Rust MCP client (`rmcp`), with
//! the API key as bearer. Both backends.

use crate::common;
use crate::common::Expect;

use calbridge::model::ApiScope;
use calbridge::server::accounts;
use common::booking::{alice_at, api, demo_tenant, json_of, key_for, next_monday, seed_demo};
use reqwest::StatusCode;
use rmcp::model::{CallToolRequestParams, CallToolResult, JsonObject};
use rmcp::service::RunningService;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{json, Value};

const TOOLS: [&str; 5] = [
    "list_hosts",
    "check_availability",
    "create_booking",
    "cancel_booking",
    "reschedule_booking",
];

/// Walks a schema: every object lists all its properties as required and
/// allows no others (the strict form function-calling clients demand).
fn assert_strict(schema: &Value, at: &str) {
    if schema["type"] == "object" {
        assert_eq!(schema["additionalProperties"], false, "{at}");
        let properties = schema["properties"].as_object().unwrap();
        let mut required: Vec<&str> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let mut names: Vec<&str> = properties.keys().map(String::as_str).collect();
        required.sort_unstable();
        names.sort_unstable();
        assert_eq!(required, names, "{at}: every property is required");
        for (name, property) in properties {
            assert!(property["description"].is_string(), "{at}.{name}");
            assert_strict(property, &format!("{at}.{name}"));
        }
    }
}

async fn definitions_are_strict_and_calls_run_the_api(backend: common::Backend) {
    let app = start_app!(backend);
    seed_demo(&app).await;
    let (status, body) = json_of(reqwest::get(app.url("/api/v1/agent/tools")).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let tools = body["tools"].as_array().unwrap();
    let names: Vec<&str> = tools
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, TOOLS);
    for tool in tools {
        assert_eq!(tool["type"], "function");
        assert_eq!(tool["function"]["strict"], true);
        assert_strict(
            &tool["function"]["parameters"],
            tool["function"]["name"].as_str().unwrap(),
        );
    }
    let booking = &tools[2]["function"]["parameters"]["properties"];
    assert_eq!(booking["purpose"]["type"], json!(["string", "null"]));
    assert_eq!(
        booking["attendee"]["properties"]["phone"]["type"],
        json!(["string", "null"])
    );
    assert_eq!(booking["host"]["type"], "string");

    let key = key_for(&app, &demo_tenant(&app).await, &ApiScope::ALL).await;
    let agent = api(&key);
    let call = |name: &str, args: Value| {
        agent
            .post(app.url(&format!("/api/v1/agent/tools/{name}")))
            .json(&args)
            .send()
    };
    let monday = next_monday();
    let (status, found) = json_of(
        call(
            "check_availability",
            json!({"host": "alice", "event_type": "intro", "start": monday.to_string(), "end": null, "time_zone": "Europe/Berlin"}),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let slots = found["slots"].as_array().unwrap();
    assert_eq!(slots.len(), 12, "capped for reading aloud: {found}");
    assert_eq!(found["more_slots"], 4, "16 half hours in an 8-hour day");
    assert_eq!(slots[0]["start"], format!("{monday}T09:00:00+01:00"));
    let day = monday.format("%A %-d %B").to_string();
    assert_eq!(
        found["summary"],
        format!("16 free times (Europe/Berlin); the first: {day} at 9:00 AM, {day} at 9:30 AM, {day} at 10:00 AM.")
    );

    let (status, made) = json_of(
        call(
            "create_booking",
            json!({"host": "alice", "event_type": "intro", "start": slots[1]["start"],
                   "attendee": {"name": "Ada Agent", "email": "ada@example.com", "phone": null, "time_zone": null},
                   "purpose": null, "idempotency_key": "call-1"}),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{made}");
    assert_eq!(made["booking"]["status"], "confirmed");
    assert_eq!(
        made["summary"],
        format!("Booked for {day} at 9:30 AM (Europe/Berlin) with alice. ada@example.com gets the invitation and a link to cancel or reschedule.")
    );

    // The strict schema holds on the server too: no extra fields, typed errors.
    let (status, body) = json_of(
        call("list_hosts", json!({"tenant": "someone else's"}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        (body["error"].as_str(), body["field"].as_str()),
        (Some("invalid_request"), Some("tenant"))
    );
    let (status, body) = json_of(call("drop_tables", json!({})).await.unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_tool"))
    );
    let (status, body) = json_of(
        call(
            "create_booking",
            json!({"host": "alice", "event_type": "intro", "start": slots[1]["start"],
                   "attendee": {"name": "Bo", "email": "bo@example.com", "phone": null, "time_zone": null},
                   "purpose": null, "idempotency_key": null}),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"], "slot_taken");
    assert!(!body["alternatives"].as_array().unwrap().is_empty());
    app.stop().await;
}

async fn mcp_client(
    url: String,
    key: &str,
) -> Result<RunningService<RoleClient, ()>, rmcp::service::ClientInitializeError> {
    ().serve(StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url).auth_header(key),
    ))
    .await
}

fn arguments(value: Value) -> JsonObject {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

async fn call_tool(
    client: &RunningService<RoleClient, ()>,
    name: &'static str,
    args: Value,
) -> CallToolResult {
    client
        .call_tool(CallToolRequestParams::new(name).with_arguments(arguments(args)))
        .await
        .unwrap()
}

async fn an_mcp_client_lists_and_calls_the_tools(backend: common::Backend) {
    let app = start_app!(backend);
    seed_demo(&app).await;
    let demo = demo_tenant(&app).await;
    let key = key_for(&app, &demo, &ApiScope::ALL).await;
    let client = mcp_client(app.url("/mcp"), &key).await.unwrap();

    let info = client.peer_info().unwrap();
    assert_eq!(info.server_info.as_ref().unwrap().name, "calbridge");
    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, TOOLS);
    let hints = |name: &str| {
        let a = tools
            .iter()
            .find(|t| t.name == name)
            .and_then(|t| t.annotations.clone())
            .unwrap();
        (a.read_only_hint, a.destructive_hint, a.idempotent_hint)
    };
    assert_eq!(
        hints("check_availability"),
        (Some(true), Some(false), Some(true))
    );
    assert_eq!(hints("list_hosts"), (Some(true), Some(false), Some(true)));
    assert_eq!(
        hints("create_booking"),
        (Some(false), Some(false), Some(false))
    );
    assert_eq!(
        hints("cancel_booking"),
        (Some(false), Some(true), Some(true))
    );
    assert_eq!(
        hints("reschedule_booking"),
        (Some(false), Some(true), Some(true))
    );
    for tool in &tools {
        assert_strict(&Value::Object((*tool.input_schema).clone()), &tool.name);
    }

    let hosts = call_tool(&client, "list_hosts", json!({})).await;
    assert_eq!(hosts.is_error, Some(false));
    let hosts = hosts.structured_content.unwrap();
    assert_eq!(
        hosts["summary"],
        "2 hosts: Alice Example [alice]: Intro call (30 min); Bob Example [bob]: Consultation (60 min)."
    );

    let monday = next_monday();
    let found = call_tool(
        &client,
        "check_availability",
        json!({"host": "alice", "event_type": "intro", "start": monday.to_string(), "end": null, "time_zone": "America/New_York"}),
    )
    .await
    .structured_content
    .unwrap();
    assert_eq!(
        found["slots"][0]["start"],
        format!("{monday}T03:00:00-05:00")
    );

    let made = call_tool(
        &client,
        "create_booking",
        json!({"host": "alice", "event_type": "intro", "start": found["slots"][2]["start"],
               "attendee": {"name": "Mo MCP", "email": "mo@example.com", "phone": "+1 212 555 0199", "time_zone": "America/New_York"},
               "purpose": "Talk about pricing", "idempotency_key": "mcp-1"}),
    )
    .await;
    assert_eq!(made.is_error, Some(false), "{made:?}");
    let made = made.structured_content.unwrap();
    let id = made["booking"]["id"].as_str().unwrap().to_owned();
    assert_eq!(made["booking"]["start"], format!("{monday}T04:00:00-05:00"));
    let stored: (String, i64) =
        sqlx::query_as("SELECT attendee_email, starts_at FROM bookings WHERE status = 'confirmed'")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    assert_eq!(stored, ("mo@example.com".to_owned(), alice_at(10, 0)));

    // The slot is gone: a typed error that says what to do, with other times.
    let taken = call_tool(
        &client,
        "create_booking",
        json!({"host": "alice", "event_type": "intro", "start": found["slots"][2]["start"],
               "attendee": {"name": "Late", "email": "late@example.com", "phone": null, "time_zone": null},
               "purpose": null, "idempotency_key": null}),
    )
    .await;
    assert_eq!(taken.is_error, Some(true));
    let taken = taken.structured_content.unwrap();
    assert_eq!(taken["error"], "slot_taken");
    assert!(taken["message"].as_str().unwrap().contains("alternatives"));
    assert!(!taken["alternatives"].as_array().unwrap().is_empty());

    let moved = call_tool(
        &client,
        "reschedule_booking",
        json!({"booking_id": id, "start": found["slots"][4]["start"]}),
    )
    .await
    .structured_content
    .unwrap();
    assert_eq!(
        moved["booking"]["start"],
        format!("{monday}T05:00:00-05:00")
    );
    let canceled = call_tool(&client, "cancel_booking", json!({"booking_id": id}))
        .await
        .structured_content
        .unwrap();
    assert_eq!(canceled["booking"]["status"], "canceled");
    client.cancel().await.unwrap();

    // Another tenant's key sees none of it; a read-only key cannot book.
    let other = accounts::create_admin(
        &app.state.accounts,
        "Other team",
        "eve@other.test",
        "Eve",
        common::PASSWORD,
        "UTC",
    )
    .await
    .unwrap();
    let stranger = mcp_client(
        app.url("/mcp"),
        &key_for(&app, &other.tenant, &ApiScope::ALL).await,
    )
    .await
    .unwrap();
    let lookup = call_tool(
        &stranger,
        "reschedule_booking",
        json!({"booking_id": id, "start": found["slots"][6]["start"]}),
    )
    .await;
    assert_eq!(lookup.structured_content.unwrap()["error"], "not_found");
    stranger.cancel().await.unwrap();
    let reader = mcp_client(
        app.url("/mcp"),
        &key_for(&app, &demo, &[ApiScope::AvailabilityRead]).await,
    )
    .await
    .unwrap();
    let refused = call_tool(
        &reader,
        "create_booking",
        json!({"host": "alice", "event_type": "intro", "start": found["slots"][6]["start"],
               "attendee": {"name": "R", "email": "r@example.com", "phone": null, "time_zone": null},
               "purpose": null, "idempotency_key": null}),
    )
    .await;
    assert_eq!(
        refused.structured_content.unwrap()["error"],
        "insufficient_scope"
    );
    reader.cancel().await.unwrap();

    // Without a live key the endpoint answers 401 before any MCP.
    assert!(mcp_client(app.url("/mcp"), "cbk_not-a-key").await.is_err());
    let anonymous = reqwest::Client::new()
        .post(app.url("/mcp"))
        .header("Accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        .expect_status(StatusCode::UNAUTHORIZED)
        .await;
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
    let count: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM bookings WHERE status = 'confirmed'")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(count.0, 0, "the only booking was canceled");
    app.stop().await;
}

on_both_backends!(
    definitions_are_strict_and_calls_run_the_api,
    an_mcp_client_lists_and_calls_the_tools
);
