//! Per-user live updates for open `/meetings` pages (SSE). In-process
//! broadcast: a change is published to the channel of the user it belongs
//! to, and only that user's streams subscribe to it.

use crate::model::UserId;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::{broadcast, watch};

/// Events a slow browser may fall behind by before it is told to resync.
const BUFFER: usize = 64;

pub struct Live {
    channels: Mutex<HashMap<UserId, broadcast::Sender<String>>>,
    /// Flips to true at shutdown so open streams end and the server can stop.
    closing: watch::Sender<bool>,
}

impl Default for Live {
    fn default() -> Self {
        Live {
            channels: Mutex::default(),
            closing: watch::channel(false).0,
        }
    }
}

impl Live {
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

    /// Sends `event` (JSON) to the user's open pages, if any.
    pub fn publish(&self, user: UserId, event: String) {
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
        live.publish(alice, "one".into());
        assert_eq!(alice_rx.recv().await.unwrap(), "one");
        assert!(bob_rx.try_recv().is_err());
    }

    #[tokio::test]
    async fn a_lagging_receiver_learns_it_lagged() {
        let live = Live::default();
        let user = UserId(uuid::Uuid::now_v7());
        let mut rx = live.subscribe(user);
        for i in 0..BUFFER + 5 {
            live.publish(user, i.to_string());
        }
        assert!(matches!(
            rx.recv().await,
            Err(broadcast::error::RecvError::Lagged(_))
        ));
    }
}
