//! The MCP server at `/mcp` (streamable HTTP, stateless, JSON responses):
//! the agent tools of `api_v1::agent` for agent platforms that speak the
//! Model Context Protocol, behind the same API keys as `/api/v1`.

use super::api_v1::agent::{self, Tool};
use super::api_v1::failure::ApiFailure;
use crate::server::api_keys::KeyCaller;
use crate::server::app_state::AppState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, ToolAnnotations,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, ServerHandler};
use serde_json::Value;
use std::sync::Arc;

/// The `/mcp` route. Each request authenticates its key first, then rmcp
/// answers it without a session, so any instance can serve any request.
pub fn routes(state: AppState) -> Router<AppState> {
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        // rmcp's Host allow-list guards unauthenticated local servers against
        // DNS rebinding; here every request must carry an API key, which a
        // rebinding page does not have, and the public host is the operator's.
        .disable_allowed_hosts();
    let service = StreamableHttpService::new(
        || Ok(BookingTools),
        Arc::new(NeverSessionManager::default()),
        config,
    );
    Router::new()
        .route_service(crate::model::paths::MCP, service)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_key,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state,
            super::api_limit::per_key_mcp,
        ))
}

/// Lets through only requests with a live key, handing the key and the
/// state to the tools through the request's extensions.
async fn require_key(
    State(state): State<AppState>,
    key: Result<KeyCaller, ApiFailure>,
    mut req: Request,
    next: Next,
) -> Response {
    match key {
        Ok(key) => {
            req.extensions_mut().insert(key);
            req.extensions_mut().insert(state);
            next.run(req).await
        }
        Err(failure) => failure.into_response(),
    }
}

#[derive(Clone, Copy)]
struct BookingTools;

fn definition(tool: Tool) -> rmcp::model::Tool {
    let schema = match tool.input_schema() {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    let hints = tool.hints();
    rmcp::model::Tool::new(tool.name(), tool.description(), schema)
        .with_title(tool.title())
        .with_annotations(
            ToolAnnotations::with_title(tool.title())
                .read_only(hints.read_only)
                .destructive(hints.destructive)
                .idempotent(hints.idempotent)
                .open_world(false),
        )
}

fn caller(context: &RequestContext<RoleServer>) -> Result<(AppState, KeyCaller), ErrorData> {
    let parts = context
        .extensions
        .get::<axum::http::request::Parts>()
        .ok_or_else(|| ErrorData::internal_error("no HTTP request", None))?;
    match (
        parts.extensions.get::<AppState>(),
        parts.extensions.get::<KeyCaller>(),
    ) {
        (Some(state), Some(key)) => Ok((state.clone(), key.clone())),
        _ => Err(ErrorData::internal_error("no API key", None)),
    }
}

impl ServerHandler for BookingTools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("calbridge", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Book appointments with this team: list_hosts, then check_availability, then \
                 create_booking with a start it returned. Times come with a phrase to say aloud.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(
            Tool::ALL.into_iter().map(definition).collect(),
        ))
    }

    fn get_tool(&self, name: &str) -> Option<rmcp::model::Tool> {
        Tool::named(name).map(definition)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let tool = Tool::named(&request.name).ok_or_else(|| {
            ErrorData::invalid_params(format!("no tool named {}", request.name), None)
        })?;
        let (state, key) = caller(&context)?;
        let arguments = request.arguments.map(Value::Object).unwrap_or(Value::Null);
        let result = match agent::call(&state, &key, tool, arguments).await {
            Ok(value) => CallToolResult::structured(value),
            Err(failure) => CallToolResult::structured_error(
                serde_json::to_value(failure.body()).unwrap_or(Value::Null),
            ),
        };
        Ok(result.into())
    }
}
