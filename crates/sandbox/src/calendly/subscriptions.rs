//! The webhook subscription API: create, list, get and delete.

use super::request::{
    api_error, caller, created, forbidden, invalid, json_body, not_found, ok, paginate, str_field,
    Params, S,
};
use super::state::Subscription;
use super::webhooks::WEBHOOK_EVENTS;
use super::wire::{subscription_json, uuid_in};
use crate::core::{respond, Account};
use crate::World;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

pub(super) async fn subscription_create(
    AxState(s): S,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut world = s.world();
    respond((|| {
        let me = caller(&mut world, &headers)?;
        if me.plan == "free" {
            return Err(forbidden(
                "Please upgrade your Calendly account to Standard",
            ));
        }
        let body = json_body(&body)?;
        let url = str_field(&body, "url").ok_or_else(|| invalid("url", "url is required"))?;
        let parsed = url::Url::parse(url).ok();
        if !parsed.is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host()) {
            return Err(invalid("url", "url must be a valid http(s) URL"));
        }
        if !s.callback_allowed(url) {
            return Err(invalid(
                "url",
                "the sandbox delivers webhooks only to the app it serves",
            ));
        }
        let events: Vec<String> = match body.get("events").and_then(Value::as_array) {
            Some(list) if !list.is_empty() => list
                .iter()
                .map(|e| {
                    e.as_str()
                        .filter(|e| WEBHOOK_EVENTS.contains(e))
                        .map(str::to_owned)
                        .ok_or_else(|| {
                            invalid("events", &format!("{e} is not a valid webhook event"))
                        })
                })
                .collect::<Result<_, _>>()?,
            _ => return Err(invalid("events", "events must be a non-empty list")),
        };
        let org = str_field(&body, "organization")
            .ok_or_else(|| invalid("organization", "organization is required"))?;
        let org = uuid_in(org, "organizations")
            .ok_or_else(|| invalid("organization", "organization must be an organization URI"))?;
        let my_org = world.calendly.org_of(&me.id).unwrap_or_default().to_owned();
        if org != my_org {
            return Err(forbidden(
                "You do not have permission to manage webhooks of this organization.",
            ));
        }
        let scope =
            str_field(&body, "scope").ok_or_else(|| invalid("scope", "scope is required"))?;
        let user = match scope {
            "user" => {
                let user = str_field(&body, "user")
                    .ok_or_else(|| invalid("user", "user is required for scope user"))?;
                let id = uuid_in(user, "users")
                    .ok_or_else(|| invalid("user", "user must be a user URI"))?;
                if world.calendly.org_of(id) != Some(my_org.as_str()) {
                    return Err(forbidden(
                        "You do not have permission to manage webhooks of this user.",
                    ));
                }
                Some(id.to_owned())
            }
            "organization" => None,
            _ => return Err(invalid("scope", "scope must be user or organization")),
        };
        let signing_key = match body.get("signing_key") {
            None | Some(Value::Null) => None,
            Some(Value::String(k)) if !k.trim().is_empty() => Some(k.clone()),
            Some(_) => {
                return Err(invalid(
                    "signing_key",
                    "signing_key must be a non-empty string",
                ))
            }
        };
        let conflict = world.calendly.subscriptions.iter().any(|sub| {
            sub.organization == my_org
                && sub.callback_url == url
                && sub.scope == scope
                && sub.user == user
        });
        if conflict {
            return Err(api_error(
                StatusCode::CONFLICT,
                "Already Exists",
                "Hook with this url already exists",
            ));
        }
        let signing_key = signing_key.unwrap_or_else(|| {
            world
                .calendly
                .organizations
                .iter()
                .find(|o| o.uuid == my_org)
                .map(|o| o.signing_key.clone())
                .unwrap_or_default()
        });
        let now = world.now();
        let sub = Subscription {
            uuid: world.uuid(),
            callback_url: url.to_owned(),
            events,
            scope: scope.to_owned(),
            organization: my_org,
            user,
            creator: me.id.clone(),
            signing_key,
            state: "active".to_owned(),
            created_at: now,
            updated_at: now,
            retry_started_at: None,
        };
        let body = json!({ "resource": subscription_json(s.base(), &sub) });
        world.calendly.subscriptions.push(sub);
        Ok(created(body))
    })())
}

pub(super) async fn subscription_list(
    AxState(s): S,
    headers: HeaderMap,
    Query(q): Query<Params>,
) -> Response {
    let mut world = s.world();
    respond((|| {
        let me = caller(&mut world, &headers)?;
        let org = q
            .get("organization")
            .ok_or_else(|| invalid("organization", "organization is required"))?;
        let org = uuid_in(org, "organizations")
            .ok_or_else(|| invalid("organization", "organization must be an organization URI"))?;
        if world.calendly.org_of(&me.id) != Some(org) {
            return Err(forbidden(
                "You do not have permission to access this organization's data.",
            ));
        }
        let scope = q
            .get("scope")
            .map(String::as_str)
            .ok_or_else(|| invalid("scope", "scope is required"))?;
        if scope != "user" && scope != "organization" {
            return Err(invalid("scope", "scope must be user or organization"));
        }
        let user = match q.get("user") {
            None if scope == "user" => {
                return Err(invalid("user", "user is required for scope user"))
            }
            None => None,
            Some(u) => Some(
                uuid_in(u, "users").ok_or_else(|| invalid("user", "user must be a user URI"))?,
            ),
        };
        let mut subs: Vec<&Subscription> = world
            .calendly
            .subscriptions
            .iter()
            .filter(|sub| sub.organization == org && sub.scope == scope)
            .filter(|sub| user.is_none_or(|u| sub.user.as_deref() == Some(u)))
            .collect();
        if q.get("sort").is_some_and(|s| s == "created_at:desc") {
            subs.reverse();
        }
        let items = subs
            .into_iter()
            .map(|sub| subscription_json(s.base(), sub))
            .collect();
        Ok(ok(paginate(s.base(), "webhook_subscriptions", &q, items)?))
    })())
}

fn visible_subscription<'a>(
    world: &'a World,
    me: &Account,
    uuid: &str,
) -> Result<&'a Subscription, Response> {
    let my_org = world.calendly.org_of(&me.id);
    world
        .calendly
        .subscriptions
        .iter()
        .find(|sub| sub.uuid == uuid && Some(sub.organization.as_str()) == my_org)
        .ok_or_else(not_found)
}

pub(super) async fn subscription_get(
    AxState(s): S,
    headers: HeaderMap,
    Path(uuid): Path<String>,
) -> Response {
    let mut world = s.world();
    respond((|| {
        let me = caller(&mut world, &headers)?;
        let sub = visible_subscription(&world, &me, &uuid)?;
        Ok(ok(json!({ "resource": subscription_json(s.base(), sub) })))
    })())
}

pub(super) async fn subscription_delete(
    AxState(s): S,
    headers: HeaderMap,
    Path(uuid): Path<String>,
) -> Response {
    let mut world = s.world();
    respond((|| {
        let me = caller(&mut world, &headers)?;
        visible_subscription(&world, &me, &uuid)?;
        world.calendly.subscriptions.retain(|sub| sub.uuid != uuid);
        Ok(StatusCode::NO_CONTENT.into_response())
    })())
}
