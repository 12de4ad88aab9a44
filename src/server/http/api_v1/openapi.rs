//! `GET /api/v1/openapi.json`: the API described from its own types and
//! handlers, so the document cannot drift from the code.

use super::wire;
use axum::http::header;
use axum::response::IntoResponse;
use std::sync::LazyLock;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{SchemaType, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder, Schema};
use utoipa::{Modify, OpenApi};

struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "api_key",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("calbridge API key (cbk_…)")
                        .build(),
                ),
            );
        }
    }
}

/// What every operation behind a key can answer besides its own
/// statuses: no live key, a missing scope, the key's limit, input that
/// does not fit; and everything but the host list, a host, booking or
/// appointment that is not there. Each successful answer carries the
/// key's `RateLimit-*` headers.
struct EveryAnswer;

fn integer_header(description: &str) -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(Schema::Object(
            utoipa::openapi::ObjectBuilder::new()
                .schema_type(SchemaType::Type(Type::Integer))
                .build(),
        ))
        .description(Some(description))
        .build()
}

fn error_answer(description: &str) -> RefOr<Response> {
    let mut answer = ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorOut")))
            .build(),
    );
    if description.starts_with("rate_limited") {
        answer = answer.header(
            "Retry-After",
            integer_header("Seconds until the key may call again"),
        );
    }
    RefOr::T(answer.build())
}

fn complete(path: &str, operation: &mut Operation) {
    let answers = &mut operation.responses.responses;
    let mut add = |status: &str, description: &str| {
        answers
            .entry(status.to_owned())
            .or_insert_with(|| error_answer(description));
    };
    add("401", "unauthorized: no live API key");
    add(
        "403",
        "insufficient_scope: the key lacks the scope this needs",
    );
    add(
        "422",
        "invalid_request: a parameter or the body does not fit (the field is named)",
    );
    add(
        "429",
        "rate_limited: the key's requests a minute are used up; retry after Retry-After seconds",
    );
    if !["/api/v1/hosts", "/api/v1/audit"].contains(&path) {
        add(
            "404",
            "not_found: no such host, event type, booking or appointment in this team",
        );
    }
    for (status, answer) in answers.iter_mut() {
        if let (true, RefOr::T(answer)) = (status.starts_with('2'), answer) {
            answer.headers.insert(
                "RateLimit-Limit".into(),
                integer_header("Requests the key may make a minute"),
            );
            answer.headers.insert(
                "RateLimit-Remaining".into(),
                integer_header("Requests left in this minute"),
            );
            answer.headers.insert(
                "RateLimit-Reset".into(),
                integer_header("Seconds until the minute's count starts again"),
            );
        }
    }
}

impl Modify for EveryAnswer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            for operation in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                complete(path, operation);
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "calbridge booking API",
        description = "Hosts, availability and bookings of one team, for integrations and AI agents. Authenticate with an API key from /admin/api-keys as a bearer token."
    ),
    paths(
        super::hosts,
        super::availability,
        super::create_booking,
        super::get_booking,
        super::cancel_booking,
        super::reschedule_booking,
        super::appointments::create,
        super::appointments::list,
        super::appointments::read,
        super::appointments::change,
        super::appointments::cancel,
        super::appointments::resolve,
        super::audit
    ),
    components(schemas(
        wire::HostsOut,
        wire::HostOut,
        wire::EventTypeOut,
        wire::AvailabilityOut,
        wire::SlotOut,
        wire::BookingIn,
        wire::AttendeeIn,
        wire::RescheduleIn,
        wire::BookingOut,
        wire::ErrorOut,
        wire::AuditOut,
        wire::AuditEntryOut,
        super::appointments::AppointmentIn,
        super::appointments::AppointmentPatch,
        super::appointments::ResolveIn,
        super::appointments::AppointmentOut,
        super::appointments::AppointmentsOut,
        super::appointments::ContentOut,
        super::appointments::SyncOut
    )),
    modifiers(&BearerKey, &EveryAnswer)
)]
struct ApiDoc;

static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    ApiDoc::openapi()
        .to_json()
        .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
});

pub async fn document() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.as_str(),
    )
}
