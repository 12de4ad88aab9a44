//! Outgoing webhook deliveries, as the providers make them: over real HTTP,
//! retried with exponential backoff where the provider retries, subject to
//! the fault rules (drop, duplicate, reorder), and every attempt logged.

use super::faults::{self, DeliveryFaults};
use crate::Provider;
use crate::{Sandbox, World};
use chrono::{DateTime, Utc};
use rand::seq::SliceRandom;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const LOG_CAPACITY: usize = 50_000;
/// How long the worker waits to gather deliveries it may reorder.
const REORDER_WINDOW: Duration = Duration::from_millis(40);

/// What the provider does when a delivery fails.
#[derive(Clone, Debug)]
pub enum Retry {
    /// Calendly: back off exponentially for the retry window
    /// (`Tunables::calendly_retry_window_ms`) while the subscription stays
    /// active, then disable it.
    Window(RetriedSubscription),
    /// Back off exponentially for at most this many attempts.
    Attempts(u32),
}

/// The subscription a windowed delivery is for. The emulator that owns it
/// answers for its state: the queue knows no provider's.
#[derive(Clone, Debug)]
pub struct RetriedSubscription {
    pub id: String,
    /// Whether deliveries should still be attempted (a deleted or disabled
    /// subscription is not retried).
    pub is_active: fn(&World, &str) -> bool,
    /// Called when the window closes without a successful delivery.
    pub disable: fn(&mut World, &str),
}

/// Signs each attempt with the time it is sent (Calendly does).
#[derive(Clone, Debug)]
pub struct Signer {
    pub header: &'static str,
    pub key: String,
    /// The header's value for a body sent at unix time `t`.
    pub sign: fn(key: &str, t: i64, body: &[u8]) -> String,
}

/// One notification to send.
#[derive(Clone, Debug)]
pub struct Outbound {
    pub provider: Provider,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// What it is about, e.g. `invitee.created` or `exists`.
    pub label: String,
    pub retry: Retry,
    pub signer: Option<Signer>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Attempt {
    pub id: u64,
    pub delivery_id: u64,
    pub provider: Provider,
    pub url: String,
    pub label: String,
    pub attempt: u32,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub latency_ms: u64,
    /// `delivered`, `failed` (will retry), `gave_up`, `dropped`.
    pub outcome: &'static str,
    pub at: DateTime<Utc>,
}

pub struct Deliverer {
    tx: mpsc::UnboundedSender<(u64, Outbound)>,
    rx: Mutex<Option<mpsc::UnboundedReceiver<(u64, Outbound)>>>,
    log: Mutex<Vec<Attempt>>,
    next_id: AtomicU64,
    in_flight: AtomicU64,
}

impl Default for Deliverer {
    fn default() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Deliverer {
            tx,
            rx: Mutex::new(Some(rx)),
            log: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
            in_flight: AtomicU64::new(0),
        }
    }
}

impl Deliverer {
    /// Queues a delivery; returns its id.
    pub fn send(&self, outbound: Outbound) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        if self.tx.send((id, outbound)).is_err() {
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
        }
        id
    }

    pub fn attempts(&self) -> Vec<Attempt> {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Deliveries queued or still retrying.
    pub fn pending(&self) -> u64 {
        self.in_flight.load(Ordering::SeqCst)
    }

    fn record(&self, attempt: Attempt) {
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        if log.len() >= LOG_CAPACITY {
            log.drain(..LOG_CAPACITY / 10);
        }
        log.push(attempt);
    }
}

/// Starts the worker that drains the queue.
pub fn spawn_worker(sandbox: Sandbox) {
    let Some(mut rx) = sandbox
        .deliveries()
        .rx
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
    else {
        return;
    };
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            let reorder = batch
                .iter()
                .any(|(_, o)| faults::for_delivery(&mut sandbox.world(), o.provider).reorder);
            if reorder {
                tokio::time::sleep(REORDER_WINDOW).await;
                while let Ok(more) = rx.try_recv() {
                    batch.push(more);
                }
                batch.shuffle(&mut sandbox.world().rng);
            }
            for (id, outbound) in batch {
                let fault = faults::for_delivery(&mut sandbox.world(), outbound.provider);
                let copies = if fault.duplicate { 2 } else { 1 };
                for copy in 0..copies {
                    let sandbox = sandbox.clone();
                    let outbound = outbound.clone();
                    if copy > 0 {
                        sandbox
                            .deliveries()
                            .in_flight
                            .fetch_add(1, Ordering::SeqCst);
                    }
                    tokio::spawn(async move { deliver(sandbox, id, outbound, fault).await });
                }
            }
        }
    });
}

async fn deliver(sandbox: Sandbox, delivery_id: u64, outbound: Outbound, fault: DeliveryFaults) {
    let url = sandbox.settings().target_url(&outbound.url);
    let record = |attempt: u32, at, status, error, latency_ms, outcome| {
        sandbox.deliveries().record(Attempt {
            id: sandbox.deliveries().next_id.fetch_add(1, Ordering::Relaxed),
            delivery_id,
            provider: outbound.provider,
            url: url.clone(),
            label: outbound.label.clone(),
            attempt,
            status,
            error,
            latency_ms,
            outcome,
            at,
        })
    };
    let started_at = Instant::now();
    let mut attempt_no = 0u32;
    let refused = !sandbox.callback_allowed(&outbound.url);
    if fault.drop || refused {
        let (error, outcome) = if refused {
            ("refused: not the app the sandbox serves", "refused")
        } else {
            ("dropped by fault injection", "dropped")
        };
        record(
            1,
            sandbox.world().now(),
            None,
            Some(error.into()),
            0,
            outcome,
        );
        sandbox
            .deliveries()
            .in_flight
            .fetch_sub(1, Ordering::SeqCst);
        return;
    }
    loop {
        attempt_no += 1;
        let at = sandbox.world().now();
        let mut request = sandbox.http().post(&url).body(outbound.body.clone());
        for (name, value) in &outbound.headers {
            request = request.header(name, value);
        }
        if let Some(signer) = &outbound.signer {
            let signature = (signer.sign)(&signer.key, at.timestamp(), &outbound.body);
            request = request.header(signer.header, signature);
        }
        let sent = Instant::now();
        let result = request.send().await;
        let latency_ms = sent.elapsed().as_millis() as u64;
        let (status, error) = match &result {
            Ok(r) => (Some(r.status().as_u16()), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let ok = status.is_some_and(|s| (200..300).contains(&s));
        let (base_delay, window) = {
            let w = sandbox.world();
            (
                w.tunables.retry_base_delay_ms,
                w.tunables.calendly_retry_window_ms,
            )
        };
        let delay =
            Duration::from_millis(base_delay.saturating_mul(1u64 << (attempt_no - 1).min(16)));
        let retry = !ok
            && match &outbound.retry {
                Retry::Attempts(max) => attempt_no < *max,
                Retry::Window(subscription) => {
                    (started_at.elapsed() + delay).as_millis() < u128::from(window)
                        && (subscription.is_active)(&sandbox.world(), &subscription.id)
                }
            };
        let outcome = if ok {
            "delivered"
        } else if retry {
            "failed"
        } else {
            "gave_up"
        };
        record(attempt_no, at, status, error, latency_ms, outcome);
        if ok {
            break;
        }
        if !retry {
            if let Retry::Window(subscription) = &outbound.retry {
                (subscription.disable)(&mut sandbox.world(), &subscription.id);
            }
            break;
        }
        tokio::time::sleep(delay).await;
    }
    sandbox
        .deliveries()
        .in_flight
        .fetch_sub(1, Ordering::SeqCst);
}
