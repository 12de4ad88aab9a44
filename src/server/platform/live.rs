//! Per-user live updates for open `/meetings` pages (SSE). In-process
//! broadcast: a change is published to the channel of the user it belongs
//! to, and only that user's streams subscribe to it. On PostgreSQL a change
//! goes out as `NOTIFY` instead, and every instance (the publishing one
//! included) forwards it to its own browsers, so a webhook processed on one
//! instance reaches a page connected to another.

use crate::model::UserId;
use crate::server::platform::db::{Backend, Db};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, watch};

pub const NOTIFY_CHANNEL: &str = "calbridge_live";

const SESSION_ENDED: &str = "session_ended";
const USER_REMOVED: &str = "user_removed";

/// What one stream does with an event published to its user.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Pass it to the browser.
    Forward,
    /// Meant for the user's other sessions: not for this browser.
    Skip,
    /// This stream's session is over: close it.
    End,
}

/// Sorts an event for the stream of session `session_hash`.
pub fn delivery(event: &str, session_hash: &str) -> Delivery {
    // Control events are tiny JSON objects that start with their kind.
    if !event.starts_with("{\"kind\":\"session_ended\"")
        && !event.starts_with("{\"kind\":\"user_removed\"")
    {
        return Delivery::Forward;
    }
    let parsed: serde_json::Value = serde_json::from_str(event).unwrap_or_default();
    match parsed["kind"].as_str() {
        Some(USER_REMOVED) => Delivery::End,
        Some(SESSION_ENDED) if parsed["session"] == session_hash => Delivery::End,
        Some(SESSION_ENDED) => Delivery::Skip,
        _ => Delivery::Forward,
    }
}

/// Events a slow browser may fall behind by before it is told to resync.
const BUFFER: usize = 64;

/// Streams (live meetings, sync progress, admin overview) one person may
/// hold open on an instance: plenty for many tabs, few enough that a
/// script cannot pin the server's memory with one account.
pub const MAX_STREAMS_PER_USER: usize = 12;

pub struct Live {
    channels: Mutex<HashMap<UserId, broadcast::Sender<String>>>,
    /// Flips to true at shutdown so open streams end and the server can stop.
    closing: watch::Sender<bool>,
    /// Open streams per person.
    open: Arc<Mutex<HashMap<UserId, usize>>>,
}

impl Default for Live {
    fn default() -> Self {
        Live {
            channels: Mutex::default(),
            closing: watch::channel(false).0,
            open: Arc::default(),
        }
    }
}

/// One open stream of a person; dropping it (the stream ends, the browser
/// went away) gives the place back.
pub struct StreamPermit {
    open: Arc<Mutex<HashMap<UserId, usize>>>,
    user: UserId,
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.user) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.user);
            }
        }
    }
}

impl Live {
    /// A place for one more stream of `user`, unless they hold
    /// [`MAX_STREAMS_PER_USER`] already.
    pub fn open_stream(&self, user: UserId) -> Option<StreamPermit> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(user).or_insert(0);
        if *count >= MAX_STREAMS_PER_USER {
            return None;
        }
        *count += 1;
        Some(StreamPermit {
            open: self.open.clone(),
            user,
        })
    }

    /// Resolves when the server starts shutting down.
    pub fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }

    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    fn channel(&self, user: UserId) -> broadcast::Sender<String> {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        // Channels nobody listens to any more are dropped as we go.
        channels.retain(|_, sender| sender.receiver_count() > 0);
        channels
            .entry(user)
            .or_insert_with(|| broadcast::channel(BUFFER).0)
            .clone()
    }

    pub fn subscribe(&self, user: UserId) -> broadcast::Receiver<String> {
        self.channel(user).subscribe()
    }

    /// Sends `event` (JSON) to the user's open pages on every instance.
    pub async fn publish(&self, db: &Db, user: UserId, event: String) {
        if db.backend() == Backend::Postgres {
            let note = format!("{user} {event}");
            if let Err(e) =
                crate::server::platform::db::notify(db.pool(), NOTIFY_CHANNEL, &note).await
            {
                tracing::warn!(error = %e, "live NOTIFY failed; delivering locally");
                self.publish_here(user, event);
            }
        } else {
            self.publish_here(user, event);
        }
    }

    /// Ends the streams of one session (logged out), on every instance.
    pub async fn end_session(&self, db: &Db, user: UserId, session_hash: &str) {
        let event = serde_json::json!({ "kind": SESSION_ENDED, "session": session_hash });
        self.publish(db, user, event.to_string()).await;
    }

    /// Ends every stream of a user (removed from the team), on every instance.
    pub async fn end_user(&self, db: &Db, user: UserId) {
        let event = serde_json::json!({ "kind": USER_REMOVED });
        self.publish(db, user, event.to_string()).await;
    }

    /// A change NOTIFYed by any instance (`"{user} {event}"`), for this
    /// instance's open pages.
    pub fn forward(&self, note: &str) {
        let parsed = note
            .split_once(' ')
            .and_then(|(user, event)| Some((user.parse().ok()?, event)));
        if let Some((user, event)) = parsed {
            self.publish_here(user, event.to_owned());
        }
    }

    /// Sends `event` (JSON) to this instance's open pages of the user.
    fn publish_here(&self, user: UserId, event: String) {
        let sender = {
            let channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
            channels.get(&user).cloned()
        };
        if let Some(sender) = sender {
            let _ = sender.send(event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn events_reach_only_their_user() {
        let live = Live::default();
        let (alice, bob) = (UserId(uuid::Uuid::now_v7()), UserId(uuid::Uuid::now_v7()));
        let mut alice_rx = live.subscribe(alice);
        let mut bob_rx = live.subscribe(bob);
        live.publish_here(alice, "one".into());
        assert_eq!(alice_rx.recv().await.unwrap(), "one");
        assert!(bob_rx.try_recv().is_err());
    }

    #[test]
    fn control_events_end_only_their_streams() {
        let ended = serde_json::json!({ "kind": SESSION_ENDED, "session": "abc" }).to_string();
        assert_eq!(delivery(&ended, "abc"), Delivery::End);
        assert_eq!(delivery(&ended, "other"), Delivery::Skip);
        let removed = serde_json::json!({ "kind": USER_REMOVED }).to_string();
        assert_eq!(delivery(&removed, "abc"), Delivery::End);
        let change = serde_json::json!({ "kind": "meeting", "id": "m1" }).to_string();
        assert_eq!(delivery(&change, "abc"), Delivery::Forward);
    }

    #[tokio::test]
    async fn a_lagging_receiver_learns_it_lagged() {
        let live = Live::default();
        let user = UserId(uuid::Uuid::now_v7());
        let mut rx = live.subscribe(user);
        for i in 0..BUFFER + 5 {
            live.publish_here(user, i.to_string());
        }
        assert!(matches!(
            rx.recv().await,
            Err(broadcast::error::RecvError::Lagged(_))
        ));
    }
}
