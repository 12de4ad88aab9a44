//! The caller's meetings.

use crate::model::{ApiError, MeetingsPage};
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

/// Upcoming meetings (or past ones), grouped by day in the caller's time zone.
#[server(endpoint = "meetings", input = GetUrl)]
pub async fn get_meetings(past: bool) -> Result<MeetingsPage, ApiError> {
    let caller = super::context::require_caller().await?;
    let state = super::context::state();
    Ok(crate::server::meetings::page(&state.meetings, &caller, past).await?)
}
