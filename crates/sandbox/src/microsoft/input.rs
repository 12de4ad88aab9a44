//! What a create or PATCH body asks for, parsed and checked.

use super::state::Attendee;
use super::wire::{parse_naive, parse_rfc3339, resolve_tz, to_utc};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// What a create or PATCH body says (`None`: not given).
#[derive(Default)]
pub(super) struct EventInput {
    pub(super) subject: Option<String>,
    pub(super) body: Option<(String, String)>,
    pub(super) start: Option<(DateTime<Utc>, String)>,
    pub(super) end: Option<(DateTime<Utc>, String)>,
    pub(super) location: Option<String>,
    pub(super) attendees: Option<Vec<Attendee>>,
    pub(super) is_online_meeting: Option<bool>,
    pub(super) online_meeting_provider: Option<String>,
    pub(super) transaction_id: Option<String>,
    /// An all-day event: `start` and `end` are midnights of its dates.
    pub(super) is_all_day: Option<bool>,
}

pub(super) fn opt_str(v: &Value, key: &str) -> Result<Option<String>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("Property '{key}' must be a string.")),
    }
}

pub(super) fn parse_date_time_tz(
    v: &Value,
    key: &str,
) -> Result<Option<(DateTime<Utc>, String)>, String> {
    let Some(obj) = v.get(key).filter(|x| !x.is_null()) else {
        return Ok(None);
    };
    let date_time = obj
        .get("dateTime")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("Property '{key}.dateTime' is required."))?;
    let zone = obj
        .get("timeZone")
        .and_then(Value::as_str)
        .unwrap_or("UTC")
        .to_owned();
    if let Some(dt) = parse_rfc3339(date_time) {
        return Ok(Some((dt, zone)));
    }
    let naive = parse_naive(date_time)
        .ok_or_else(|| format!("Cannot convert the literal '{date_time}' to a date-time."))?;
    let tz = resolve_tz(&zone)
        .ok_or_else(|| format!("A valid TimeZone value must be specified. '{zone}' is not."))?;
    let dt = to_utc(naive, tz).ok_or_else(|| format!("'{date_time}' does not exist in {zone}."))?;
    Ok(Some((dt, zone)))
}

pub(super) fn parse_input(v: &Value) -> Result<EventInput, String> {
    let body = match v.get("body").filter(|b| !b.is_null()) {
        None => None,
        Some(b) => {
            let kind = b
                .get("contentType")
                .and_then(Value::as_str)
                .unwrap_or("text")
                .to_ascii_lowercase();
            if kind != "text" && kind != "html" {
                return Err("body.contentType must be 'text' or 'html'.".into());
            }
            let content = b
                .get("content")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            Some((kind, content))
        }
    };
    let location = v.get("location").filter(|l| !l.is_null()).map(|l| {
        l.get("displayName")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    });
    let attendees = match v.get("attendees").filter(|a| !a.is_null()) {
        None => None,
        Some(Value::Array(list)) => {
            let mut out = Vec::new();
            for a in list {
                let address = a
                    .pointer("/emailAddress/address")
                    .and_then(Value::as_str)
                    .filter(|s| s.contains('@'))
                    .ok_or("Each attendee needs emailAddress.address.")?;
                let kind = a
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("required")
                    .to_ascii_lowercase();
                if !matches!(kind.as_str(), "required" | "optional" | "resource") {
                    return Err(format!("Attendee type '{kind}' is not valid."));
                }
                let name = a
                    .pointer("/emailAddress/name")
                    .and_then(Value::as_str)
                    .unwrap_or(address);
                out.push(Attendee {
                    address: address.to_owned(),
                    name: name.to_owned(),
                    kind,
                });
            }
            Some(out)
        }
        Some(_) => return Err("Property 'attendees' must be an array.".into()),
    };
    let is_online_meeting = match v.get("isOnlineMeeting") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return Err("Property 'isOnlineMeeting' must be a boolean.".into()),
    };
    let is_all_day = match v.get("isAllDay") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return Err("Property 'isAllDay' must be a boolean.".into()),
    };
    let online_meeting_provider = opt_str(v, "onlineMeetingProvider")?;
    if let Some(p) = &online_meeting_provider {
        if !matches!(
            p.as_str(),
            "teamsForBusiness" | "skypeForBusiness" | "skypeForConsumer" | "unknown"
        ) {
            return Err(format!("onlineMeetingProvider '{p}' is not valid."));
        }
    }
    Ok(EventInput {
        subject: opt_str(v, "subject")?,
        body,
        start: parse_date_time_tz(v, "start")?,
        end: parse_date_time_tz(v, "end")?,
        location,
        attendees,
        is_online_meeting,
        online_meeting_provider,
        transaction_id: opt_str(v, "transactionId")?,
        is_all_day,
    })
}
