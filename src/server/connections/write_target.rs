//! Where calbridge writes a user's events: a connected calendar account
//! and one of its calendars. Bookings and appointments both go there.

use crate::model::{ConnectionId, ConnectionState, Provider};
use crate::server::jobs::JobError;
use crate::server::platform::db::connection_calendars;
use crate::server::platform::db::connections::{self as connections_repo, Connection};
use crate::server::platform::db::{Db, UserScope};
use crate::server::providers::{self, CalendarApi};

/// A connection, its calendar API and the calendar events go to.
pub struct WriteTarget {
    pub connection: Connection,
    pub api: &'static dyn CalendarApi,
    pub calendar_id: String,
}

/// The connection and calendar an earlier write went to, if it is still
/// connected; a retry while it needs reconnecting.
pub async fn recorded(
    db: &Db,
    owner: &UserScope,
    connection: ConnectionId,
    calendar_id: &str,
) -> Result<WriteTarget, JobError> {
    let connection = connections_repo::get_for_user(db.pool(), owner, connection).await?;
    if connection.state != ConnectionState::Connected {
        return Err(JobError::Retry(
            "the calendar's connection needs to be reconnected".into(),
        ));
    }
    let api = providers::api(connection.provider)
        .calendars()
        .ok_or_else(|| JobError::Permanent("the connection holds no calendars".into()))?;
    Ok(WriteTarget {
        connection,
        api,
        calendar_id: calendar_id.to_owned(),
    })
}

/// The owner's connected calendar for new events: `preferred`'s first,
/// then Google, then Outlook, earliest connected first; its chosen booking
/// calendar, or else its primary, if writable.
pub async fn choose(
    db: &Db,
    owner: &UserScope,
    preferred: Provider,
) -> Result<Option<WriteTarget>, JobError> {
    let pool = db.pool();
    let mut candidates: Vec<Connection> = connections_repo::list_for_user(pool, owner)
        .await?
        .into_iter()
        .filter(|c| {
            c.state == ConnectionState::Connected
                && providers::api(c.provider).calendars().is_some()
        })
        .collect();
    candidates.sort_by_key(|c| {
        (
            c.provider != preferred,
            c.provider != Provider::Google,
            c.connected_at,
        )
    });
    for connection in candidates {
        let calendars = connection_calendars::calendars(pool, &owner.tenant, connection.id).await?;
        let chosen = match connection.booking_calendar_id.as_deref() {
            Some(id) => calendars.iter().find(|c| c.calendar_id == id),
            None => calendars.iter().find(|c| c.primary),
        };
        let Some(calendar) = chosen.filter(|c| c.writable) else {
            continue;
        };
        let Some(api) = providers::api(connection.provider).calendars() else {
            continue;
        };
        return Ok(Some(WriteTarget {
            calendar_id: calendar.calendar_id.clone(),
            connection,
            api,
        }));
    }
    Ok(None)
}
