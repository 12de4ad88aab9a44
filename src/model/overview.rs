//! `/admin`: the tenant at a glance.

use super::{ConnectionId, Provider};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// How far back the overview looks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum OverviewRange {
    #[default]
    Day,
    Week,
}

impl OverviewRange {
    pub const ALL: [OverviewRange; 2] = [OverviewRange::Day, OverviewRange::Week];

    pub fn as_str(self) -> &'static str {
        match self {
            OverviewRange::Day => "24h",
            OverviewRange::Week => "7d",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            OverviewRange::Day => "Last 24 hours",
            OverviewRange::Week => "Last 7 days",
        }
    }

    /// Hours covered, the current one included.
    pub fn hours(self) -> i64 {
        match self {
            OverviewRange::Day => 24,
            OverviewRange::Week => 7 * 24,
        }
    }

    /// Hours per bar of the charts.
    pub fn bucket_hours(self) -> i64 {
        match self {
            OverviewRange::Day => 1,
            OverviewRange::Week => 6,
        }
    }
}

impl FromStr for OverviewRange {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "24h" => Ok(OverviewRange::Day),
            "7d" => Ok(OverviewRange::Week),
            other => Err(format!("unknown range '{other}' (24h or 7d)")),
        }
    }
}

/// The figures of `/admin`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OverviewPage {
    pub range: OverviewRange,
    /// RFC 3339: when the figures were read.
    pub as_of: String,
    /// Live connections per provider (every provider, zeros included).
    pub connections: Vec<ConnectionTally>,
    /// Connections someone has to act on.
    pub attention: Vec<AttentionItem>,
    /// Webhook deliveries over the range, per provider.
    pub webhooks: Vec<WebhookTotals>,
    /// Sync runs over the range, per provider.
    pub sync: Vec<SyncTotals>,
    pub jobs: JobBacklog,
    pub conflicts: ConflictsWaiting,
    /// Requests the limits turned away over the range (public booking
    /// page, live calendar reads, API keys), per limit.
    pub refused: Vec<RefusedTally>,
    /// Deliveries, acknowledgement latency and sync runs over time.
    pub charts: Vec<ChartView>,
}

/// What one limit refused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RefusedTally {
    /// The limit's stable name (`bookings_per_address_hour`, …).
    pub limit: String,
    /// What it limits, in words.
    pub label: String,
    pub refused: i64,
}

/// One provider's connections by state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConnectionTally {
    pub provider: Provider,
    pub connected: i64,
    /// Tokens stopped working: the owner must reconnect.
    pub error: i64,
}

/// Why a connection needs someone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttentionReason {
    ReconnectNeeded,
    SubscriptionFailing,
    SyncFailing,
}

impl AttentionReason {
    pub fn as_str(self) -> &'static str {
        match self {
            AttentionReason::ReconnectNeeded => "reconnect_needed",
            AttentionReason::SubscriptionFailing => "subscription_failing",
            AttentionReason::SyncFailing => "sync_failing",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            AttentionReason::ReconnectNeeded => "Reconnect needed",
            AttentionReason::SubscriptionFailing => "Webhook subscription failing",
            AttentionReason::SyncFailing => "Last sync failed",
        }
    }
}

/// A connection that needs someone, and where to fix it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttentionItem {
    pub connection: ConnectionId,
    pub provider: Provider,
    pub account_email: String,
    pub user_email: String,
    pub reason: AttentionReason,
    /// The provider's or the sync's last words.
    pub detail: Option<String>,
    pub fix_href: String,
    pub fix_label: String,
}

/// One provider's webhook deliveries over the range.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WebhookTotals {
    pub provider: Option<Provider>,
    pub received: i64,
    pub processed: i64,
    pub queued: i64,
    pub duplicate: i64,
    pub ignored: i64,
    pub rejected: i64,
    pub failed: i64,
    /// Deliveries whose acknowledgement latency was measured.
    pub acked: i64,
    pub ack_avg_ms: Option<f64>,
    /// The histogram bucket the 95th percentile falls in, e.g. "≤ 10 ms".
    pub ack_p95: Option<String>,
    pub ack_max_ms: Option<f64>,
}

/// One provider's sync runs over the range, by outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyncTotals {
    pub provider: Provider,
    pub succeeded: i64,
    pub partial: i64,
    pub failed: i64,
}

/// The tenant's jobs that are not done.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JobBacklog {
    /// Due now, waiting for a worker.
    pub ready: i64,
    /// Waiting for their time (a retry's backoff, a planned run).
    pub scheduled: i64,
    pub running: i64,
    /// Out of attempts: someone must retry or discard them.
    pub dead: i64,
    /// RFC 3339: since when the oldest ready job has been due.
    pub oldest_ready_since: Option<String>,
}

/// Conflicts waiting for a person to choose a side.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ConflictsWaiting {
    pub appointments: i64,
    pub bookings: i64,
}

/// A chart rendered on the server, with what it shows in words and as a
/// table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChartView {
    /// Stable, for anchors and tests.
    pub key: String,
    pub title: String,
    /// What the chart shows in one or two sentences (its accessible name).
    pub summary: String,
    /// The SVG, readable without JavaScript.
    pub svg: String,
    /// The series: label and colour.
    pub legend: Vec<(String, String)>,
    /// The table fallback: column heads, then one row per bar.
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// A count with its thousands grouped: 12,345.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// A latency: one decimal under 10 ms, "—" when nothing was measured.
pub fn millis(value: Option<f64>) -> String {
    match value {
        Some(v) if v < 10.0 => format!("{v:.1} ms"),
        Some(v) => format!("{v:.0} ms"),
        None => "—".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(-12_345), "-12,345");
    }

    #[test]
    fn latencies_keep_a_decimal_only_when_small() {
        assert_eq!(millis(Some(2.345)), "2.3 ms");
        assert_eq!(millis(Some(42.6)), "43 ms");
        assert_eq!(millis(None), "—");
    }

    #[test]
    fn ranges_read_back_from_their_words() {
        for range in OverviewRange::ALL {
            assert_eq!(range.as_str().parse::<OverviewRange>(), Ok(range));
        }
        assert!("30d".parse::<OverviewRange>().is_err());
    }
}
