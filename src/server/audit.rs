//! The audit trail: every security-relevant action, written in the same
//! transaction as the action itself where there is one, so an action that
//! happened is never missing from it; read by admins at `/admin/audit` and
//! by keys with `audit:read` at `GET /api/v1/audit`.

use crate::model::{ActorKind, ApiKeyId, AuditAction, AuditEntryView, AuditPage, UserId};
use crate::server::auth::Caller;
use crate::server::error::{AppError, AppResult};
use crate::server::platform::db::audit_log::{self as repo, Filter, NewEntry};
use crate::server::platform::db::{self, Db, DbResult, TenantScope};
use chrono::NaiveDate;
use sqlx::{Any, Executor};

/// Entries a page shows.
pub const PAGE_SIZE: i64 = 50;

/// Who acted.
#[derive(Clone, Copy, Debug)]
pub enum Actor<'a> {
    User {
        id: UserId,
        email: &'a str,
    },
    /// A machine with one of the team's API keys.
    ApiKey {
        id: ApiKeyId,
        name: &'a str,
    },
    /// The command line on the server.
    Operator,
    /// Someone on the public pages.
    Visitor(&'a str),
    /// calbridge itself.
    System,
}

impl<'a> Actor<'a> {
    pub fn of(caller: &'a Caller) -> Self {
        Actor::User {
            id: caller.user.user_id(),
            email: &caller.email,
        }
    }

    fn kind(&self) -> ActorKind {
        match self {
            Actor::User { .. } => ActorKind::User,
            Actor::ApiKey { .. } => ActorKind::ApiKey,
            Actor::Operator => ActorKind::Operator,
            Actor::Visitor(_) => ActorKind::Visitor,
            Actor::System => ActorKind::System,
        }
    }

    fn label(&self) -> &str {
        match self {
            Actor::User { email, .. } | Actor::ApiKey { name: email, .. } => email,
            Actor::Operator => "command line",
            Actor::Visitor(address) => address,
            Actor::System => "calbridge",
        }
    }
}

/// What was acted on: its id (if it has one) and its name in words.
#[derive(Clone, Copy, Debug)]
pub struct Target<'a> {
    pub id: Option<&'a str>,
    pub label: &'a str,
}

impl<'a> Target<'a> {
    pub fn named(id: &'a str, label: &'a str) -> Self {
        Target {
            id: Some(id),
            label,
        }
    }
}

/// Appends one entry.
pub async fn record<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &TenantScope,
    actor: Actor<'_>,
    action: AuditAction,
    target: Target<'_>,
    detail: &str,
) -> DbResult<()> {
    let id = uuid::Uuid::now_v7().to_string();
    let actor_id = match actor {
        Actor::User { id, .. } => Some(id.to_string()),
        Actor::ApiKey { id, .. } => Some(id.to_string()),
        _ => None,
    };
    repo::insert(
        ex,
        scope,
        &NewEntry {
            id: &id,
            at: db::now_ms(),
            actor_kind: actor.kind().as_str(),
            actor_id: actor_id.as_deref(),
            actor_label: actor.label(),
            action: action.as_str(),
            target_id: target.id,
            target_label: target.label,
            detail,
        },
        None,
    )
    .await
}

/// Appends one entry on its own, for an action that spans several
/// transactions of its own (a conflict decided): written once the action
/// has succeeded; a failure to write it is logged as an error.
pub async fn record_after(
    db: &Db,
    scope: &TenantScope,
    actor: Actor<'_>,
    action: AuditAction,
    target: Target<'_>,
    detail: &str,
) {
    let written = match db.writer().await {
        Ok(mut conn) => record(&mut *conn, scope, actor, action, target, detail).await,
        Err(e) => Err(e),
    };
    if let Err(e) = written {
        tracing::error!(action = action.as_str(), error = %e, "an audit entry could not be written");
    }
}

/// The filters of a page, as typed in the query string.
#[derive(Default)]
pub struct Query<'a> {
    /// Who acted (an e-mail, "command line", …).
    pub actor: Option<&'a str>,
    pub action: Option<&'a str>,
    /// First and last day (UTC, YYYY-MM-DD), both included.
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    /// The previous page's `next`.
    pub before: Option<&'a str>,
}

fn nonempty(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}

fn day(text: Option<&str>) -> AppResult<Option<i64>> {
    nonempty(text)
        .map(|t| {
            NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .map(|d| {
                    d.and_hms_opt(0, 0, 0)
                        .unwrap_or_default()
                        .and_utc()
                        .timestamp_millis()
                })
                .map_err(|_| AppError::Invalid(crate::model::Flash::InvalidDate))
        })
        .transpose()
}

/// `/admin/audit` with `query`'s filters, from `before` on.
fn older(query: &Query<'_>, before: &str) -> String {
    let mut link = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in [
        ("actor", query.actor),
        ("action", query.action),
        ("from", query.from),
        ("to", query.to),
    ] {
        if let Some(value) = nonempty(value) {
            link.append_pair(key, value);
        }
    }
    link.append_pair("before", before);
    format!("{}?{}", crate::model::paths::ADMIN_AUDIT, link.finish())
}

/// One page of the tenant's trail, newest first.
pub async fn page(db: &Db, scope: &TenantScope, query: &Query<'_>) -> AppResult<AuditPage> {
    let action = nonempty(query.action)
        .map(|a| a.parse::<AuditAction>())
        .transpose()
        .map_err(|_| AppError::Invalid(crate::model::Flash::InvalidAuditFilter))?;
    let before = nonempty(query.before)
        .map(|b| uuid::Uuid::parse_str(b).map(|u| u.to_string()))
        .transpose()
        .map_err(|_| AppError::Invalid(crate::model::Flash::InvalidAuditFilter))?;
    let filter = Filter {
        actor: nonempty(query.actor),
        action: action.map(AuditAction::as_str),
        since: day(query.from)?,
        until: day(query.to)?.map(|start| start + 86_400_000),
        before: before.as_deref(),
    };
    let mut rows = repo::page(db.pool(), scope, &filter, PAGE_SIZE + 1).await?;
    let more = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    let entries = rows
        .into_iter()
        .map(|r| {
            Ok(AuditEntryView {
                at: db::ms_to_rfc3339(r.at),
                actor_kind: r.actor_kind.parse().map_err(AppError::internal)?,
                actor: r.actor_label,
                action: r.action.parse().map_err(AppError::internal)?,
                target: r.target_label,
                detail: r.detail,
                count: r.count,
                id: r.id,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    let next = more.then(|| entries.last().map(|e| e.id.clone())).flatten();
    Ok(AuditPage {
        next_href: next.as_deref().map(|before| older(query, before)),
        next,
        entries,
        actors: repo::actors(db.pool(), scope).await?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_utc_midnights() {
        assert_eq!(day(None).unwrap(), None);
        assert_eq!(day(Some(" ")).unwrap(), None);
        assert_eq!(day(Some("1970-01-02")).unwrap(), Some(86_400_000));
        assert!(day(Some("2026-13-01")).is_err());
        assert!(day(Some("yesterday")).is_err());
    }

    #[test]
    fn every_action_reads_back() {
        for action in AuditAction::ALL {
            assert_eq!(action.as_str().parse::<AuditAction>(), Ok(*action));
        }
        for kind in ActorKind::ALL {
            assert_eq!(kind.as_str().parse::<ActorKind>(), Ok(kind));
        }
    }
}
