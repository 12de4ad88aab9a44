//! `/admin`: the tenant at a glance. Every figure comes from a bounded
//! read: the hourly rows of `activity_by_hour` (≤ 3 per hour of the
//! range), the tenant's connections, and index-only counts of the jobs
//! not done and the conflicts waiting.

use super::charts::{self, Chart, Series, Shape};
use super::Admin;
use crate::model::{
    millis as ms, paths, thousands, AttentionItem, AttentionReason, ChartView, ConflictsWaiting,
    ConnectionState, ConnectionTally, JobBacklog, OverviewPage, OverviewRange, Provider,
    RefusedTally, SyncTotals, UserId, WebhookTotals,
};
use crate::server::auth::AdminCaller;
use crate::server::error::{AppError, AppResult};
use crate::server::platform::db::activity::{self, HourRow, Tally, ACK_BOUNDS_MS};
use crate::server::platform::db::overview::{self as repo, ConnectionTrouble};
use crate::server::platform::db::{self, rate_limits, TenantScope};
use crate::server::platform::limits::LimitName;
use chrono::{TimeZone, Utc};

/// Connections listed as needing attention, at most.
const ATTENTION_LIMIT: i64 = 50;

/// Colours of the deliveries' results and the runs' outcomes.
const PROCESSED: (u8, u8, u8) = (46, 125, 50);
const QUEUED: (u8, u8, u8) = (21, 101, 192);
const DUPLICATE: (u8, u8, u8) = (144, 164, 174);
const IGNORED: (u8, u8, u8) = (206, 212, 218);
const REJECTED: (u8, u8, u8) = (239, 108, 0);
const FAILED: (u8, u8, u8) = (198, 40, 40);
const PARTIAL: (u8, u8, u8) = (249, 168, 37);

fn provider_color(provider: Provider) -> (u8, u8, u8) {
    match provider {
        Provider::Calendly => (0, 107, 255),
        Provider::Google => (52, 168, 83),
        Provider::Microsoft => (123, 31, 162),
    }
}

/// The range's hourly rows summed per provider, and per chart slot.
#[derive(Debug, PartialEq)]
pub struct Folded {
    /// The hour each slot starts at (hours since the epoch, UTC).
    pub slot_starts: Vec<i64>,
    /// Per provider (in `Provider::ALL` order): the range's total and the
    /// total of each slot.
    pub providers: Vec<(Provider, Tally, Vec<Tally>)>,
}

/// Sorts `rows` (hours `first_hour..=now_hour`) into slots of the range's
/// bucket size, aligned to UTC midnight, so a week's slots start at 00,
/// 06, 12 and 18 h; the first and last slot may be partly in the range.
pub fn fold(rows: &[HourRow], range: OverviewRange, now_hour: i64) -> Folded {
    let size = range.bucket_hours();
    let first_hour = now_hour - range.hours() + 1;
    let first_slot = first_hour.div_euclid(size) * size;
    let slot_starts: Vec<i64> = (first_slot..=now_hour).step_by(size as usize).collect();
    let providers = Provider::ALL
        .into_iter()
        .map(|provider| {
            let mut total = Tally::default();
            let mut slots = vec![Tally::default(); slot_starts.len()];
            for row in rows.iter().filter(|r| r.provider == provider) {
                if row.hour < first_hour || row.hour > now_hour {
                    continue;
                }
                total.add(&row.tally);
                let slot = ((row.hour - first_slot) / size) as usize;
                if let Some(slot) = slots.get_mut(slot) {
                    slot.add(&row.tally);
                }
            }
            (provider, total, slots)
        })
        .collect();
    Folded {
        slot_starts,
        providers,
    }
}

/// The bucket the 95th percentile of the acknowledgements falls in.
pub fn ack_p95(tally: &Tally) -> Option<String> {
    if tally.acked <= 0 {
        return None;
    }
    // The smallest count that is at least 95 % of them.
    let wanted = (tally.acked * 95 + 99) / 100;
    let mut seen = 0;
    for (i, count) in tally.ack_histogram().into_iter().enumerate() {
        seen += count;
        if seen >= wanted {
            return Some(match ACK_BOUNDS_MS.get(i) {
                Some(bound) => format!("≤ {bound} ms"),
                None => format!("> {} ms", ACK_BOUNDS_MS[ACK_BOUNDS_MS.len() - 1]),
            });
        }
    }
    None
}

fn avg_ms(tally: &Tally) -> Option<f64> {
    (tally.acked > 0).then(|| tally.ack_us_sum as f64 / tally.acked as f64 / 1000.0)
}

fn webhook_totals(provider: Option<Provider>, tally: &Tally) -> WebhookTotals {
    WebhookTotals {
        provider,
        received: tally.deliveries(),
        processed: tally.processed,
        queued: tally.queued,
        duplicate: tally.duplicate,
        ignored: tally.ignored,
        rejected: tally.rejected,
        failed: tally.failed,
        acked: tally.acked,
        ack_avg_ms: avg_ms(tally),
        ack_p95: ack_p95(tally),
        ack_max_ms: (tally.acked > 0).then(|| tally.ack_us_max as f64 / 1000.0),
    }
}

fn slot_label(range: OverviewRange, hour: i64) -> String {
    let Some(at) = Utc.timestamp_opt(hour * 3600, 0).single() else {
        return String::new();
    };
    match range {
        OverviewRange::Day => at.format("%H:%M").to_string(),
        OverviewRange::Week => at.format("%a %d %H:%M").to_string(),
    }
}

/// Which slots get a label under the axis: every third hour of a day, each
/// midnight of a week.
fn ticks(range: OverviewRange, slot_starts: &[i64]) -> Vec<usize> {
    slot_starts
        .iter()
        .enumerate()
        .filter(|(_, hour)| match range {
            OverviewRange::Day => hour.rem_euclid(3) == 0,
            OverviewRange::Week => hour.rem_euclid(24) == 0,
        })
        .map(|(i, _)| i)
        .collect()
}

/// The tick labels of a week name the day only.
fn tick_labels(range: OverviewRange, slot_starts: &[i64]) -> Vec<String> {
    slot_starts
        .iter()
        .map(|hour| match range {
            OverviewRange::Day => slot_label(range, *hour),
            OverviewRange::Week => Utc
                .timestamp_opt(hour * 3600, 0)
                .single()
                .map(|at| at.format("%a %d").to_string())
                .unwrap_or_default(),
        })
        .collect()
}

fn slot_sum(folded: &Folded, slot: usize) -> Tally {
    let mut sum = Tally::default();
    for (_, _, slots) in &folded.providers {
        sum.add(&slots[slot]);
    }
    sum
}

fn draw(chart: &Chart) -> AppResult<String> {
    charts::draw(chart).map_err(AppError::internal)
}

fn per_slot(title: &str, range: OverviewRange) -> String {
    match range {
        OverviewRange::Day => format!("{title} per hour (UTC)"),
        OverviewRange::Week => format!("{title} per 6 hours (UTC)"),
    }
}

/// One stacked series: its name, colour and what it counts.
type Measure = (&'static str, (u8, u8, u8), fn(&Tally) -> i64);

/// A stacked bar chart of `measures` per slot (all providers together),
/// and its table: the slot, then `total` when given, then each measure.
fn stacked_chart(
    key: &str,
    folded: &Folded,
    range: OverviewRange,
    title: String,
    summary: String,
    total: Option<Measure>,
    measures: &[Measure],
) -> AppResult<ChartView> {
    let slots: Vec<Tally> = (0..folded.slot_starts.len())
        .map(|i| slot_sum(folded, i))
        .collect();
    let series: Vec<Series> = measures
        .iter()
        .map(|(label, color, value)| Series {
            label: (*label).into(),
            color: *color,
            values: slots.iter().map(|t| Some(value(t) as f64)).collect(),
        })
        .collect();
    let svg = draw(&Chart {
        title: &title,
        summary: &summary,
        slot_labels: &tick_labels(range, &folded.slot_starts),
        ticks: ticks(range, &folded.slot_starts),
        unit: "",
        series: &series,
        shape: Shape::StackedBars,
    })?;
    let columns_of = total.iter().chain(measures);
    let mut columns = vec!["From (UTC)".to_owned()];
    columns.extend(columns_of.clone().map(|(label, _, _)| capitalized(label)));
    let rows = folded
        .slot_starts
        .iter()
        .zip(&slots)
        .map(|(hour, t)| {
            let mut row = vec![slot_label(range, *hour)];
            row.extend(columns_of.clone().map(|(_, _, value)| thousands(value(t))));
            row
        })
        .collect();
    Ok(ChartView {
        key: key.into(),
        title,
        summary,
        svg,
        legend: legend(&series),
        columns,
        rows,
    })
}

fn deliveries_chart(folded: &Folded, range: OverviewRange, total: &Tally) -> AppResult<ChartView> {
    let title = per_slot("Webhook deliveries", range);
    let summary = format!(
        "{title}, {}: {} received; {} processed, {} queued, {} duplicate, {} ignored, {} rejected, {} failed.",
        range.label().to_lowercase(),
        thousands(total.deliveries()),
        thousands(total.processed),
        thousands(total.queued),
        thousands(total.duplicate),
        thousands(total.ignored),
        thousands(total.rejected),
        thousands(total.failed),
    );
    stacked_chart(
        "deliveries",
        folded,
        range,
        title,
        summary,
        Some(("received", QUEUED, Tally::deliveries)),
        &[
            ("processed", PROCESSED, |t| t.processed),
            ("queued", QUEUED, |t| t.queued),
            ("duplicate", DUPLICATE, |t| t.duplicate),
            ("ignored", IGNORED, |t| t.ignored),
            ("rejected", REJECTED, |t| t.rejected),
            ("failed", FAILED, |t| t.failed),
        ],
    )
}

fn latency_chart(folded: &Folded, range: OverviewRange) -> AppResult<ChartView> {
    let measured: Vec<&(Provider, Tally, Vec<Tally>)> = folded
        .providers
        .iter()
        .filter(|(_, total, _)| total.acked > 0)
        .collect();
    let series: Vec<Series> = measured
        .iter()
        .map(|(provider, _, slots)| Series {
            label: provider.label().into(),
            color: provider_color(*provider),
            values: slots.iter().map(avg_ms).collect(),
        })
        .collect();
    let title = per_slot("Average acknowledgement latency", range);
    let summary = if measured.is_empty() {
        format!(
            "{title}: no deliveries acknowledged in the {}.",
            range.label().to_lowercase()
        )
    } else {
        let parts: Vec<String> = measured
            .iter()
            .map(|(provider, total, _)| {
                format!(
                    "{} {} on average, 95 % {}, slowest {}",
                    provider.label(),
                    ms(avg_ms(total)),
                    ack_p95(total).unwrap_or_default(),
                    ms(Some(total.ack_us_max as f64 / 1000.0))
                )
            })
            .collect();
        format!(
            "{title}, {}: {}.",
            range.label().to_lowercase(),
            parts.join("; ")
        )
    };
    let svg = draw(&Chart {
        title: &title,
        summary: &summary,
        slot_labels: &tick_labels(range, &folded.slot_starts),
        ticks: ticks(range, &folded.slot_starts),
        unit: "ms",
        series: &series,
        shape: Shape::Lines,
    })?;
    let mut columns = vec!["From (UTC)".to_owned()];
    for (provider, _, _) in &measured {
        columns.push(format!("{} average", provider.label()));
        columns.push(format!("{} slowest", provider.label()));
    }
    let rows = folded
        .slot_starts
        .iter()
        .enumerate()
        .map(|(i, hour)| {
            let mut row = vec![slot_label(range, *hour)];
            for (_, _, slots) in &measured {
                let slot = &slots[i];
                row.push(ms(avg_ms(slot)));
                row.push(ms((slot.acked > 0).then(|| slot.ack_us_max as f64 / 1000.0)));
            }
            row
        })
        .collect();
    Ok(ChartView {
        key: "latency".into(),
        title,
        summary,
        svg,
        legend: legend(&series),
        columns,
        rows,
    })
}

fn sync_chart(folded: &Folded, range: OverviewRange, total: &Tally) -> AppResult<ChartView> {
    let title = per_slot("Sync runs", range);
    let summary = format!(
        "{title}, {}: {} succeeded, {} partly failed, {} failed.",
        range.label().to_lowercase(),
        thousands(total.sync_succeeded),
        thousands(total.sync_partial),
        thousands(total.sync_failed),
    );
    stacked_chart(
        "sync",
        folded,
        range,
        title,
        summary,
        None,
        &[
            ("succeeded", PROCESSED, |t| t.sync_succeeded),
            ("partly failed", PARTIAL, |t| t.sync_partial),
            ("failed", FAILED, |t| t.sync_failed),
        ],
    )
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn legend(series: &[Series]) -> Vec<(String, String)> {
    series
        .iter()
        .map(|s| {
            let (r, g, b) = s.color;
            (s.label.clone(), format!("#{r:02x}{g:02x}{b:02x}"))
        })
        .collect()
}

/// What needs someone about a connection, and where to fix it. Only its
/// owner can reconnect (the OAuth consent is theirs): the admin's own
/// connections link to Settings, anyone else's to the admin list.
fn attention(trouble: ConnectionTrouble, admin: UserId) -> Vec<AttentionItem> {
    let own = trouble.user == admin;
    let provider = trouble.provider;
    let connections = format!(
        "{}?provider={}",
        paths::ADMIN_CONNECTIONS,
        provider.as_str()
    );
    let mut items = Vec::new();
    let item = |reason, detail: Option<String>, fix_href: String, fix_label: &str| AttentionItem {
        connection: trouble.connection,
        provider,
        account_email: trouble.account_email.clone(),
        user_email: trouble.user_email.clone(),
        reason,
        detail,
        fix_href,
        fix_label: fix_label.to_owned(),
    };
    if trouble.state == ConnectionState::Error {
        items.push(if own {
            item(
                AttentionReason::ReconnectNeeded,
                trouble.last_error.clone(),
                paths::CALENDARS.to_owned(),
                "Reconnect",
            )
        } else {
            item(
                AttentionReason::ReconnectNeeded,
                trouble.last_error.clone(),
                format!("{connections}&state=error"),
                "Ask the owner to reconnect",
            )
        });
    }
    if trouble.failed_subscriptions > 0 {
        items.push(item(
            AttentionReason::SubscriptionFailing,
            trouble.subscription_error.clone(),
            connections.clone(),
            "See the subscription",
        ));
    }
    if let Some(error) = trouble.sync_error.clone() {
        items.push(item(
            AttentionReason::SyncFailing,
            Some(error),
            format!("{}?connection={}", paths::ADMIN_SYNC, trouble.connection),
            "Open its sync log",
        ));
    }
    items
}

/// The overview of the admin's tenant over `range`.
pub async fn page(
    ctx: &Admin,
    admin: &AdminCaller,
    range: OverviewRange,
) -> AppResult<OverviewPage> {
    let scope: &TenantScope = admin.0.scope();
    let now = db::now_ms();
    let now_hour = activity::hour_of(now);
    let pool = ctx.db.pool();
    let since_hour = now_hour - range.hours() + 1;
    let (rows, counts, troubles, backlog, conflicts, refusals) = tokio::try_join!(
        activity::since(pool, scope, since_hour),
        repo::connection_counts(pool, scope),
        repo::troubled_connections(pool, scope, ATTENTION_LIMIT),
        repo::job_backlog(pool, scope, now),
        repo::conflicts_waiting(pool, scope),
        rate_limits::refusals_since(pool, scope, since_hour * 3_600_000),
    )?;
    let folded = fold(&rows, range, now_hour);
    let mut total = Tally::default();
    for (_, tally, _) in &folded.providers {
        total.add(tally);
    }
    let mut webhooks: Vec<WebhookTotals> = folded
        .providers
        .iter()
        .map(|(provider, tally, _)| webhook_totals(Some(*provider), tally))
        .collect();
    webhooks.push(webhook_totals(None, &total));
    let charts = vec![
        deliveries_chart(&folded, range, &total)?,
        latency_chart(&folded, range)?,
        sync_chart(&folded, range, &total)?,
    ];
    Ok(OverviewPage {
        range,
        as_of: db::ms_to_rfc3339(now),
        connections: Provider::ALL
            .into_iter()
            .map(|provider| {
                let count = |state| {
                    counts
                        .iter()
                        .filter(|(p, s, _)| *p == provider && *s == state)
                        .map(|(_, _, n)| n)
                        .sum()
                };
                ConnectionTally {
                    provider,
                    connected: count(ConnectionState::Connected),
                    error: count(ConnectionState::Error),
                }
            })
            .collect(),
        attention: troubles
            .into_iter()
            .flat_map(|t| attention(t, admin.0.user.user_id()))
            .collect(),
        webhooks,
        sync: folded
            .providers
            .iter()
            .map(|(provider, tally, _)| SyncTotals {
                provider: *provider,
                succeeded: tally.sync_succeeded,
                partial: tally.sync_partial,
                failed: tally.sync_failed,
            })
            .collect(),
        jobs: JobBacklog {
            ready: backlog.ready,
            scheduled: backlog.scheduled,
            running: backlog.running,
            dead: backlog.dead,
            oldest_ready_since: backlog.oldest_ready_at.map(db::ms_to_rfc3339),
        },
        conflicts: ConflictsWaiting {
            appointments: conflicts.0,
            bookings: conflicts.1,
        },
        refused: refusals
            .into_iter()
            .map(|r| RefusedTally {
                label: LimitName::named(&r.limit_name)
                    .map_or_else(|| r.limit_name.clone(), |l| l.description().to_owned()),
                limit: r.limit_name,
                refused: r.refused,
            })
            .collect(),
        charts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(provider: Provider, hour: i64, processed: i64) -> HourRow {
        HourRow {
            provider,
            hour,
            tally: Tally {
                processed,
                ..Tally::default()
            },
        }
    }

    #[test]
    fn a_day_has_one_slot_per_hour_ending_with_the_current_one() {
        let now_hour = 1_000_000;
        let rows = [
            row(Provider::Calendly, now_hour - 24, 100), // just outside
            row(Provider::Calendly, now_hour - 23, 1),
            row(Provider::Calendly, now_hour, 2),
            row(Provider::Google, now_hour - 5, 7),
        ];
        let f = fold(&rows, OverviewRange::Day, now_hour);
        assert_eq!(f.slot_starts.len(), 24);
        assert_eq!(f.slot_starts[0], now_hour - 23);
        assert_eq!(f.slot_starts[23], now_hour);
        let (p, calendly, slots) = &f.providers[0];
        assert_eq!(*p, Provider::Calendly);
        assert_eq!(calendly.processed, 3);
        assert_eq!((slots[0].processed, slots[23].processed), (1, 2));
        let (_, google, slots) = &f.providers[1];
        assert_eq!((google.processed, slots[18].processed), (7, 7));
        assert_eq!(f.providers[2].1, Tally::default());
    }

    #[test]
    fn a_week_has_six_hour_slots_aligned_to_utc_midnight() {
        // 2026-12-07 10:00 UTC.
        let now_hour = 1_796_637_600 / 3600;
        assert_eq!(now_hour % 24, 10);
        let first_hour = now_hour - 167;
        let rows = [
            row(Provider::Microsoft, first_hour, 1),
            row(Provider::Microsoft, first_hour + 1, 1),
            row(Provider::Microsoft, now_hour - 5, 5),
            row(Provider::Microsoft, now_hour, 3),
        ];
        let f = fold(&rows, OverviewRange::Week, now_hour);
        assert!(f.slot_starts.iter().all(|h| h % 6 == 0));
        assert_eq!(f.slot_starts[0], first_hour / 6 * 6);
        assert_eq!(*f.slot_starts.last().unwrap(), now_hour / 6 * 6);
        assert_eq!(f.slot_starts.len(), 29, "a partial slot at each end");
        let (_, total, slots) = &f.providers[2];
        assert_eq!(total.processed, 10);
        // The range starts at 05:00 a week ago: its first slot holds one
        // hour of it.
        assert_eq!((slots[0].processed, slots[1].processed), (1, 1));
        assert_eq!(slots[27].processed, 5, "00:00 to 06:00 today");
        assert_eq!(slots[28].processed, 3);
        assert_eq!(ticks(OverviewRange::Week, &f.slot_starts).len(), 7);
    }

    #[test]
    fn the_95th_percentile_names_the_bucket_it_falls_in() {
        let mut t = Tally::default();
        assert_eq!(ack_p95(&t), None);
        for _ in 0..94 {
            t.ack(1_000);
        }
        for _ in 0..6 {
            t.ack(30_000);
        }
        assert_eq!(ack_p95(&t).as_deref(), Some("≤ 50 ms"));
        let mut fast = Tally::default();
        for _ in 0..95 {
            fast.ack(4_000);
        }
        for _ in 0..5 {
            fast.ack(900_000);
        }
        assert_eq!(ack_p95(&fast).as_deref(), Some("≤ 5 ms"));
        let mut slow = Tally::default();
        slow.ack(300_000);
        assert_eq!(ack_p95(&slow).as_deref(), Some("> 250 ms"));
    }

    fn trouble(user: UserId, state: ConnectionState) -> ConnectionTrouble {
        ConnectionTrouble {
            connection: crate::model::ConnectionId::generate(),
            provider: Provider::Google,
            account_email: "a@example.test".into(),
            user,
            user_email: "owner@example.test".into(),
            state,
            last_error: Some("invalid_grant".into()),
            failed_subscriptions: 1,
            subscription_error: Some("403 push not allowed".into()),
            sync_error: Some("timeout".into()),
        }
    }

    #[test]
    fn each_trouble_links_where_it_can_be_fixed() {
        let admin = UserId::generate();
        let other = UserId::generate();
        let items = attention(trouble(other, ConnectionState::Error), admin);
        let reasons: Vec<_> = items.iter().map(|i| i.reason).collect();
        assert_eq!(
            reasons,
            [
                AttentionReason::ReconnectNeeded,
                AttentionReason::SubscriptionFailing,
                AttentionReason::SyncFailing
            ]
        );
        assert_eq!(
            items[0].fix_href,
            "/admin/connections?provider=google&state=error"
        );
        assert_eq!(items[0].detail.as_deref(), Some("invalid_grant"));
        assert_eq!(items[1].fix_href, "/admin/connections?provider=google");
        assert!(items[2].fix_href.starts_with("/admin/sync?connection="));
        let own = attention(trouble(admin, ConnectionState::Error), admin);
        assert_eq!(own[0].fix_href, paths::CALENDARS);
        assert_eq!(own[0].fix_label, "Reconnect");
        let healthy = ConnectionTrouble {
            failed_subscriptions: 0,
            sync_error: None,
            ..trouble(admin, ConnectionState::Connected)
        };
        assert!(attention(healthy, admin).is_empty());
    }
}
