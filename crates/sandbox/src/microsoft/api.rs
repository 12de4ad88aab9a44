//! The calendar API: `/me`, calendars, events, `calendarView` and its delta
//! query, and `getSchedule`.

use super::input::{parse_date_time_tz, parse_input};
use super::mailbox::{create, live_event, mailbox_mut, remove, update};
use super::state::{DeltaCursor, Event};
use super::wire::{
    authenticate, collection, date_time_tz, graph_error, graph_root, invalid, max_page_size,
    not_found, out_tz, paging, parse_body, parse_query_time, render_event, render_item,
    DEFAULT_PAGE_SIZE,
};
use crate::core::{respond, Account};
use crate::Provider;
use crate::Sandbox;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use std::collections::HashMap;

pub(super) async fn me(AxState(s): AxState<Sandbox>, headers: HeaderMap) -> Response {
    let world = s.world();
    let account = match authenticate(&world, &headers) {
        Ok(a) => a,
        Err(e) => return e,
    };
    let mut names = account.name.split_whitespace();
    let given = names.next().map(str::to_owned);
    let rest: Vec<&str> = names.collect();
    let surname = (!rest.is_empty()).then(|| rest.join(" "));
    Json(json!({
        "@odata.context": format!("{}/$metadata#users/$entity", graph_root(s.base())),
        "businessPhones": [],
        "displayName": account.name,
        "givenName": given,
        "jobTitle": null,
        "mail": account.email,
        "mobilePhone": null,
        "officeLocation": null,
        "preferredLanguage": "en-US",
        "surname": surname,
        "userPrincipalName": account.email,
        "id": account.id,
    }))
    .into_response()
}

fn calendar_json(base: &str, account: &Account, calendar_id: &str) -> Value {
    json!({
        "id": calendar_id,
        "name": "Calendar",
        "color": "auto",
        "isDefaultCalendar": true,
        "canShare": true,
        "canViewPrivateItems": true,
        "canEdit": true,
        "allowedOnlineMeetingProviders": ["teamsForBusiness"],
        "defaultOnlineMeetingProvider": "teamsForBusiness",
        "owner": { "name": account.name, "address": account.email },
        "@odata.context": format!("{}/$metadata#users('{}')/calendars/$entity", graph_root(base), account.id),
    })
}

pub(super) async fn calendar(AxState(s): AxState<Sandbox>, headers: HeaderMap) -> Response {
    let mut world = s.world();
    let account = match authenticate(&world, &headers) {
        Ok(a) => a,
        Err(e) => return e,
    };
    let calendar_id = mailbox_mut(&mut world, &account.id).calendar_id.clone();
    Json(calendar_json(s.base(), &account, &calendar_id)).into_response()
}

/// Every mailbox here has exactly one calendar, the default one.
pub(super) async fn calendars(AxState(s): AxState<Sandbox>, headers: HeaderMap) -> Response {
    let mut world = s.world();
    let account = match authenticate(&world, &headers) {
        Ok(a) => a,
        Err(e) => return e,
    };
    let calendar_id = mailbox_mut(&mut world, &account.id).calendar_id.clone();
    let mut entry = calendar_json(s.base(), &account, &calendar_id);
    if let Some(o) = entry.as_object_mut() {
        o.remove("@odata.context");
    }
    Json(json!({
        "@odata.context": format!("{}/$metadata#users('{}')/calendars", graph_root(s.base()), account.id),
        "value": [entry],
    }))
    .into_response()
}

pub(super) async fn list_events(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    respond((|| -> Result<Response, Response> {
        let world = s.world();
        let account = authenticate(&world, &headers)?;
        let (top, skip) = paging(&q)?;
        let tz = out_tz(&headers);
        let live: Vec<&Event> = world
            .microsoft
            .mailboxes
            .get(&account.id)
            .map(|m| {
                m.events
                    .iter()
                    .filter(|e| !e.deleted && e.in_event_list())
                    .collect()
            })
            .unwrap_or_default();
        let root = graph_root(s.base());
        let items = live
            .iter()
            .skip(skip)
            .take(top)
            .map(|e| render_item(s.base(), &account.id, e, &tz))
            .collect();
        let next = (live.len() > skip + top)
            .then(|| format!("{root}/me/events?$top={top}&$skip={}", skip + top));
        Ok(collection(
            format!("{root}/$metadata#users('{}')/events", account.id),
            items,
            next,
        ))
    })())
}

pub(super) async fn calendar_view(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    respond((|| -> Result<Response, Response> {
        let world = s.world();
        let account = authenticate(&world, &headers)?;
        let (start, end) = window(&q)?;
        let (top, skip) = paging(&q)?;
        let tz = out_tz(&headers);
        let mut live: Vec<&Event> = world
            .microsoft
            .mailboxes
            .get(&account.id)
            .map(|m| {
                m.events
                    .iter()
                    .filter(|e| !e.deleted && e.in_calendar_view() && overlaps(e, start, end))
                    .collect()
            })
            .unwrap_or_default();
        live.sort_by_key(|e| (e.start, e.seq));
        let root = graph_root(s.base());
        let items = live
            .iter()
            .skip(skip)
            .take(top)
            .map(|e| render_item(s.base(), &account.id, e, &tz))
            .collect();
        let next = (live.len() > skip + top).then(|| {
            let mut url = url::Url::parse(&format!("{root}/me/calendarView")).expect("valid");
            url.query_pairs_mut()
                .append_pair("startDateTime", &start.to_rfc3339())
                .append_pair("endDateTime", &end.to_rfc3339())
                .append_pair("$top", &top.to_string())
                .append_pair("$skip", &(skip + top).to_string());
            url.to_string()
        });
        Ok(collection(
            format!("{root}/$metadata#users('{}')/calendarView", account.id),
            items,
            next,
        ))
    })())
}

fn window(q: &HashMap<String, String>) -> Result<(DateTime<Utc>, DateTime<Utc>), Response> {
    let (Some(start), Some(end)) = (q.get("startDateTime"), q.get("endDateTime")) else {
        return Err(graph_error(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidParameter",
            "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.",
        ));
    };
    let (Some(start), Some(end)) = (parse_query_time(start), parse_query_time(end)) else {
        return Err(graph_error(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidParameter",
            "startDateTime and endDateTime must be ISO 8601 date-times.",
        ));
    };
    if end <= start {
        return Err(graph_error(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidParameter",
            "endDateTime must be after startDateTime.",
        ));
    }
    Ok((start, end))
}

fn overlaps(e: &Event, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
    e.start < end && (e.end > start || (e.end == e.start && e.start >= start))
}

pub(super) async fn create_event(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond((|| -> Result<Response, Response> {
        let mut world = s.world();
        let account = authenticate(&world, &headers)?;
        let v = parse_body(&body)?;
        let input = parse_input(&v).map_err(|m| invalid(&m))?;
        let event = create(&s, &mut world, &account, input)?;
        let tz = out_tz(&headers);
        Ok((
            StatusCode::CREATED,
            Json(render_event(s.base(), &account.id, &event, &tz)),
        )
            .into_response())
    })())
}

/// `POST /me/calendars/{id}/events`: the mailbox's one calendar by its id.
pub(super) async fn create_event_in(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Path(calendar_id): Path<String>,
    body: Bytes,
) -> Response {
    let known = {
        let mut world = s.world();
        match authenticate(&world, &headers) {
            Ok(account) => mailbox_mut(&mut world, &account.id).calendar_id == calendar_id,
            Err(e) => return e,
        }
    };
    if !known {
        return not_found();
    }
    create_event(AxState(s), headers, body).await
}

pub(super) async fn get_event(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    respond((|| -> Result<Response, Response> {
        let world = s.world();
        let account = authenticate(&world, &headers)?;
        let event = live_event(&world, &account.id, &id).ok_or_else(not_found)?;
        let tz = out_tz(&headers);
        Ok(Json(render_event(s.base(), &account.id, event, &tz)).into_response())
    })())
}

fn if_match(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

pub(super) async fn patch_event(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    respond((|| -> Result<Response, Response> {
        let mut world = s.world();
        let account = authenticate(&world, &headers)?;
        let v = parse_body(&body)?;
        let input = parse_input(&v).map_err(|m| invalid(&m))?;
        if input.transaction_id.is_some() {
            return Err(invalid("Property 'transactionId' cannot be updated."));
        }
        let event = update(
            &s,
            &mut world,
            &account.id,
            &id,
            input,
            if_match(&headers).as_deref(),
        )?;
        let tz = out_tz(&headers);
        Ok(Json(render_event(s.base(), &account.id, &event, &tz)).into_response())
    })())
}

pub(super) async fn delete_event(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    respond((|| -> Result<Response, Response> {
        let mut world = s.world();
        let account = authenticate(&world, &headers)?;
        remove(
            &s,
            &mut world,
            &account.id,
            &id,
            if_match(&headers).as_deref(),
        )?;
        Ok(StatusCode::NO_CONTENT.into_response())
    })())
}

fn sync_state_not_found() -> Response {
    graph_error(
        StatusCode::GONE,
        "SyncStateNotFound",
        "The sync state generation is not found. Restart the sync with a fresh delta query.",
    )
}

pub(super) async fn delta(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    respond((|| -> Result<Response, Response> {
        let mut world = s.world();
        let account = authenticate(&world, &headers)?;
        let epoch = mailbox_mut(&mut world, &account.id).sync_epoch;
        let current_seq = mailbox_mut(&mut world, &account.id).seq;
        let token = q.get("$skiptoken").or_else(|| q.get("$deltatoken"));
        let mut cursor = match token {
            Some(t) => {
                let c = world
                    .microsoft
                    .cursors
                    .get(t)
                    .cloned()
                    .ok_or_else(sync_state_not_found)?;
                if c.user_id != account.id || c.epoch != epoch {
                    return Err(sync_state_not_found());
                }
                c
            }
            None => {
                let (start, end) = window(&q)?;
                DeltaCursor {
                    user_id: account.id.clone(),
                    epoch,
                    start,
                    end,
                    from: 0,
                    upto: None,
                    after: 0,
                    initial: true,
                }
            }
        };
        let upto = *cursor.upto.get_or_insert(current_seq);
        let page_size = max_page_size(&headers).unwrap_or(DEFAULT_PAGE_SIZE);
        let tz = out_tz(&headers);
        let initial = cursor.initial;
        let mut changed: Vec<&Event> = world
            .microsoft
            .mailboxes
            .get(&account.id)
            .map(|m| {
                m.events
                    .iter()
                    .filter(|e| {
                        e.seq > cursor.from.max(cursor.after)
                            && e.seq <= upto
                            && e.in_calendar_view()
                    })
                    .collect()
            })
            .unwrap_or_default();
        changed.sort_by_key(|e| e.seq);
        let items: Vec<(u64, Value)> = changed
            .into_iter()
            .filter_map(|e| {
                let visible = !e.deleted && overlaps(e, cursor.start, cursor.end);
                if visible {
                    Some((e.seq, render_item(s.base(), &account.id, e, &tz)))
                } else if initial {
                    None
                } else {
                    Some((
                        e.seq,
                        json!({
                            "@odata.type": "#microsoft.graph.event",
                            "id": e.id,
                            "@removed": { "reason": "deleted" },
                        }),
                    ))
                }
            })
            .collect();
        let more = items.len() > page_size;
        let page: Vec<(u64, Value)> = items.into_iter().take(page_size).collect();
        let root = graph_root(s.base());
        let link_token = world.token("");
        let link_token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(link_token);
        let mut body = json!({
            "@odata.context": format!("{root}/$metadata#Collection(event)"),
            "value": page.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(),
        });
        if more {
            cursor.after = page.last().map(|(seq, _)| *seq).unwrap_or(cursor.after);
            world.microsoft.cursors.insert(link_token.clone(), cursor);
            body["@odata.nextLink"] = json!(format!(
                "{root}/me/calendarView/delta?$skiptoken={link_token}"
            ));
        } else {
            let next = DeltaCursor {
                from: upto,
                upto: None,
                after: 0,
                initial: false,
                ..cursor
            };
            world.microsoft.cursors.insert(link_token.clone(), next);
            body["@odata.deltaLink"] = json!(format!(
                "{root}/me/calendarView/delta?$deltatoken={link_token}"
            ));
        }
        let mut response = Json(body).into_response();
        if let Some(n) = max_page_size(&headers) {
            if let Ok(v) = HeaderValue::from_str(&format!("odata.maxpagesize={n}")) {
                response.headers_mut().insert("Preference-Applied", v);
            }
        }
        Ok(response)
    })())
}

pub(super) async fn get_schedule(
    AxState(s): AxState<Sandbox>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond((|| -> Result<Response, Response> {
        let world = s.world();
        authenticate(&world, &headers)?;
        let v = parse_body(&body)?;
        let schedules: Vec<String> = v
            .get("schedules")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .filter(|a: &Vec<String>| !a.is_empty())
            .ok_or_else(|| invalid("'schedules' must be a non-empty array of email addresses."))?;
        if schedules.len() > 100 {
            return Err(invalid("At most 100 schedules can be requested."));
        }
        let (start, _) = parse_date_time_tz(&v, "startTime")
            .map_err(|m| invalid(&m))?
            .ok_or_else(|| invalid("'startTime' is required."))?;
        let (end, _) = parse_date_time_tz(&v, "endTime")
            .map_err(|m| invalid(&m))?
            .ok_or_else(|| invalid("'endTime' is required."))?;
        if end <= start {
            return Err(invalid("'endTime' must be after 'startTime'."));
        }
        if end - start > Duration::days(62) {
            return Err(graph_error(
                StatusCode::BAD_REQUEST,
                "ErrorInvalidTimeInterval",
                "The requested time window must not exceed 62 days.",
            ));
        }
        let interval = match v.get("availabilityViewInterval") {
            None | Some(Value::Null) => 30,
            Some(x) => x
                .as_i64()
                .filter(|n| (5..=1440).contains(n))
                .ok_or_else(|| invalid("availabilityViewInterval must be between 5 and 1440."))?,
        };
        let tz = out_tz(&headers);
        let value: Vec<Value> = schedules
            .iter()
            .map(|email| {
                let Some(account) = world.account_by_email(Provider::Microsoft, email) else {
                    return json!({
                        "scheduleId": email,
                        "error": {
                            "message": "The mailbox could not be found.",
                            "responseCode": "ErrorMailRecipientNotFound",
                        },
                    });
                };
                let mut busy: Vec<&Event> = world
                    .microsoft
                    .mailboxes
                    .get(&account.id)
                    .map(|m| {
                        m.events
                            .iter()
                            .filter(|e| {
                                !e.deleted
                                    && !e.is_cancelled
                                    && e.in_calendar_view()
                                    && e.start < end
                                    && e.end > start
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                busy.sort_by_key(|e| e.start);
                let mut view = String::new();
                let mut slot = start;
                while slot < end {
                    let slot_end = slot + Duration::minutes(interval);
                    let taken = busy.iter().any(|e| e.start < slot_end && e.end > slot);
                    view.push(if taken { '2' } else { '0' });
                    slot = slot_end;
                }
                let items: Vec<Value> = busy
                    .iter()
                    .map(|e| {
                        json!({
                            "isPrivate": false,
                            "status": "busy",
                            "subject": e.subject,
                            "location": e.location,
                            "start": date_time_tz(e.start, &tz),
                            "end": date_time_tz(e.end, &tz),
                        })
                    })
                    .collect();
                json!({
                    "scheduleId": email,
                    "availabilityView": view,
                    "scheduleItems": items,
                    "workingHours": {
                        "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
                        "startTime": "08:00:00.0000000",
                        "endTime": "17:00:00.0000000",
                        "timeZone": { "name": account.time_zone },
                    },
                })
            })
            .collect();
        Ok(Json(json!({
            "@odata.context": format!("{}/$metadata#Collection(microsoft.graph.scheduleInformation)", graph_root(s.base())),
            "value": value,
        }))
        .into_response())
    })())
}
