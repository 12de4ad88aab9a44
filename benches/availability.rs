//! Availability compute time (PRODUCT.md target: 30 days, 3 calendars,
//! 5,000 busy intervals in ≤ 5 ms). Run with
//! `cargo bench --features ssr --bench availability`.

use calbridge::server::booking::availability::{
    instant, slots, Booked, DayHours, Query, Rules, Schedule, Span,
};
use chrono::NaiveDate;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const MINUTE: i64 = 60_000;

/// A fixed sequence, so every run measures the same input (xorshift64; no
/// need for a crate to scatter test data).
struct Scatter(u64);

impl Scatter {
    fn below(&mut self, n: i64) -> i64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as i64
    }
}

fn main() {
    let tz = chrono_tz::Europe::Berlin;
    let weekday = vec![DayHours::parse("09:00", "17:00").expect("valid hours")];
    let schedule = Schedule {
        time_zone: tz,
        weekly: std::array::from_fn(|day| if day < 5 { weekday.clone() } else { vec![] }),
        overrides: BTreeMap::new(),
    };
    let rules = Rules {
        duration: 30,
        interval: 15,
        buffer_before: 10,
        buffer_after: 10,
        minimum_notice: 240,
        window_days: 60,
        daily_limit: Some(8),
    };
    let first = NaiveDate::from_ymd_opt(2026, 12, 1).expect("a date");
    let from = instant(tz, first, 0);
    let to = from + 30 * 24 * 60 * MINUTE;
    let mut scatter = Scatter(0x9e37_79b9_7f4a_7c15);
    // 5,000 busy intervals: 1,667 meetings of 15 to 45 minutes anywhere in
    // the 30 days, each on all three calendars (the host's own, a team
    // calendar, a shared one), so about half of the time is busy.
    let busy: Vec<Span> = (0..1_667)
        .flat_map(|_| {
            let start = from + scatter.below(30 * 24 * 4) * 15 * MINUTE;
            let meeting = Span::new(start, start + (1 + scatter.below(3)) * 15 * MINUTE);
            [meeting; 3]
        })
        .collect();
    let booked: Vec<Booked> = (0..60)
        .map(|_| {
            let start = from + scatter.below(30 * 24 * 4) * 15 * MINUTE;
            Booked {
                span: Span::new(start, start + 30 * MINUTE),
                buffer_before: 10,
                buffer_after: 10,
                counts_toward_limit: true,
            }
        })
        .collect();
    let query = Query {
        schedule: &schedule,
        rules: &rules,
        from,
        to,
        busy: &busy,
        booked: &booked,
        now: from - 24 * 60 * MINUTE,
    };
    let runs = 500;
    let mut times: Vec<Duration> = Vec::with_capacity(runs);
    let mut found = 0;
    for _ in 0..runs {
        let started = Instant::now();
        found = std::hint::black_box(slots(std::hint::black_box(&query))).len();
        times.push(started.elapsed());
    }
    times.sort();
    let at = |q: f64| times[((runs as f64 * q) as usize).min(runs - 1)];
    println!(
        "availability: 30 days, {} busy intervals, 60 bookings → {found} slots; \
         {runs} runs: median {:?}, p99 {:?}, max {:?}",
        busy.len(),
        at(0.5),
        at(0.99),
        times[runs - 1]
    );
}
