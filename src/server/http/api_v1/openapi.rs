//! `GET /api/v1/openapi.json`: the API described from its own types and
//! handlers, so the document cannot drift from the code.

use super::wire;
use axum::http::header;
use axum::response::IntoResponse;
use std::sync::LazyLock;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
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
        super::appointments::resolve
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
        super::appointments::AppointmentIn,
        super::appointments::AppointmentPatch,
        super::appointments::ResolveIn,
        super::appointments::AppointmentOut,
        super::appointments::AppointmentsOut,
        super::appointments::ContentOut,
        super::appointments::SyncOut
    )),
    modifiers(&BearerKey)
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
