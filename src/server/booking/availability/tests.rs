use super::*;
use chrono::{NaiveDate, Utc};
use proptest::prelude::*;

const HOUR: i64 = 60 * MINUTE_MS;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> i64 {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
        .timestamp_millis()
}

fn hours(start: &str, end: &str) -> DayHours {
    DayHours::parse(start, end).unwrap()
}

/// The same hours every day of the week.
fn every_day(tz: Tz, spans: &[DayHours]) -> Schedule {
    Schedule {
        time_zone: tz,
        weekly: std::array::from_fn(|_| spans.to_vec()),
        overrides: BTreeMap::new(),
    }
}

fn rules(duration: u32, interval: u32) -> Rules {
    Rules {
        duration,
        interval,
        buffer_before: 0,
        buffer_after: 0,
        minimum_notice: 0,
        window_days: 365,
        daily_limit: None,
    }
}

/// One local date of `schedule`'s zone, seen from a `now` well before it.
fn on(schedule: &Schedule, rules: &Rules, day: NaiveDate) -> Vec<Span> {
    on_with(schedule, rules, day, &[], &[])
}

fn on_with(
    schedule: &Schedule,
    rules: &Rules,
    day: NaiveDate,
    busy: &[Span],
    booked: &[Booked],
) -> Vec<Span> {
    let tz = schedule.time_zone;
    slots(&Query {
        schedule,
        rules,
        from: instant(tz, day, 0),
        to: instant(tz, day.succ_opt().unwrap(), 0),
        busy,
        booked,
        now: instant(tz, day, 0) - 7 * 24 * HOUR,
    })
}

fn starts(slots: &[Span]) -> Vec<i64> {
    slots.iter().map(|s| s.start).collect()
}

#[test]
fn the_spring_forward_sunday_in_berlin_has_eight_working_hours() {
    let berlin = every_day(chrono_tz::Europe::Berlin, &[hours("09:00", "17:00")]);
    // The last Sunday of March 2026: clocks go from 02:00 to 03:00.
    let got = on(&berlin, &rules(60, 60), date(2026, 3, 29));
    assert_eq!(got.len(), 8);
    // CEST is UTC+2: 09:00 local is 07:00 UTC, the last start 16:00 is 14:00.
    assert_eq!(got[0].start, utc(2026, 3, 29, 7, 0));
    assert_eq!(got[7].start, utc(2026, 3, 29, 14, 0));
    // The day before is still CET (UTC+1).
    let before = on(&berlin, &rules(60, 60), date(2026, 3, 28));
    assert_eq!(before[0].start, utc(2026, 3, 28, 8, 0));
}

#[test]
fn a_whole_day_is_as_long_as_the_clock_says() {
    let all_day = [hours("00:00", "24:00")];
    let berlin = every_day(chrono_tz::Europe::Berlin, &all_day);
    assert_eq!(on(&berlin, &rules(60, 60), date(2026, 3, 29)).len(), 23);
    assert_eq!(on(&berlin, &rules(60, 60), date(2026, 10, 25)).len(), 25);
    assert_eq!(on(&berlin, &rules(60, 60), date(2026, 10, 26)).len(), 24);
}

#[test]
fn no_slot_exists_twice_on_the_autumn_night() {
    let berlin = every_day(chrono_tz::Europe::Berlin, &[hours("00:00", "24:00")]);
    let got = on(&berlin, &rules(30, 30), date(2026, 10, 25));
    assert_eq!(got.len(), 50);
    for pair in got.windows(2) {
        assert_eq!(pair[1].start - pair[0].start, 30 * MINUTE_MS);
    }
    // 02:00–03:00 is shown twice: 00:00 and 01:00 UTC both start slots.
    assert!(starts(&got).contains(&utc(2026, 10, 25, 0, 0)));
    assert!(starts(&got).contains(&utc(2026, 10, 25, 1, 0)));
}

#[test]
fn new_york_keeps_its_hours_across_both_changes() {
    let ny = every_day(chrono_tz::America::New_York, &[hours("10:00", "16:00")]);
    let spring = on(&ny, &rules(60, 60), date(2026, 3, 8));
    assert_eq!(spring.len(), 6);
    assert_eq!(spring[0].start, utc(2026, 3, 8, 14, 0)); // EDT, UTC-4
    let autumn = on(&ny, &rules(60, 60), date(2026, 11, 1));
    assert_eq!(autumn.len(), 6);
    assert_eq!(autumn[0].start, utc(2026, 11, 1, 15, 0)); // EST, UTC-5
}

#[test]
fn hours_starting_in_the_skipped_hour_start_when_it_ends() {
    let berlin = every_day(chrono_tz::Europe::Berlin, &[hours("02:00", "04:00")]);
    let got = on(&berlin, &rules(60, 60), date(2026, 3, 29));
    // Only 03:00–04:00 CEST exists.
    assert_eq!(starts(&got), vec![utc(2026, 3, 29, 1, 0)]);
}

#[test]
fn a_weekday_can_have_several_spans_and_overlaps_are_joined() {
    let mut s = every_day(chrono_tz::UTC, &[]);
    s.weekly[0] = vec![hours("13:00", "15:00"), hours("09:00", "11:00")];
    // Monday 2026-12-07.
    let got = on(&s, &rules(60, 60), date(2026, 12, 7));
    let h = |h| utc(2026, 12, 7, h, 0);
    assert_eq!(starts(&got), vec![h(9), h(10), h(13), h(14)]);
    // No meeting across the lunch break, none on Tuesday.
    assert!(on(&s, &rules(60, 60), date(2026, 12, 8)).is_empty());

    s.weekly[0] = vec![hours("09:00", "10:30"), hours("10:00", "11:00")];
    let got = on(&s, &rules(60, 30), date(2026, 12, 7));
    let m = |h, m| utc(2026, 12, 7, h, m);
    assert_eq!(starts(&got), vec![m(9, 0), m(9, 30), m(10, 0)]);
}

#[test]
fn date_overrides_close_a_day_or_change_its_hours() {
    let mut s = every_day(chrono_tz::UTC, &[hours("09:00", "17:00")]);
    s.overrides.insert(date(2026, 12, 24), vec![]);
    s.overrides
        .insert(date(2026, 12, 23), vec![hours("08:00", "10:00")]);
    assert!(on(&s, &rules(60, 60), date(2026, 12, 24)).is_empty());
    assert_eq!(
        starts(&on(&s, &rules(60, 60), date(2026, 12, 23))),
        vec![utc(2026, 12, 23, 8, 0), utc(2026, 12, 23, 9, 0)]
    );
    assert_eq!(on(&s, &rules(60, 60), date(2026, 12, 22)).len(), 8);
}

#[test]
fn busy_time_blocks_overlapping_slots_only() {
    let s = every_day(chrono_tz::UTC, &[hours("09:00", "12:00")]);
    let d = date(2026, 12, 7);
    let m = |h, m| utc(2026, 12, 7, h, m);
    let busy = [Span::new(m(10, 0), m(10, 45))];
    let got = on_with(&s, &rules(30, 30), d, &busy, &[]);
    assert_eq!(
        starts(&got),
        vec![m(9, 0), m(9, 30), m(11, 0), m(11, 30)],
        "10:30 overlaps the busy tail"
    );
    // Touching is not overlapping: busy ending at 10:00 leaves 10:00 free.
    let touching = [Span::new(m(9, 30), m(10, 0))];
    let got = on_with(&s, &rules(30, 30), d, &touching, &[]);
    assert_eq!(
        starts(&got),
        vec![m(9, 0), m(10, 0), m(10, 30), m(11, 0), m(11, 30)]
    );
    // An empty busy span blocks nothing.
    let empty = [Span::new(m(10, 0), m(10, 0))];
    assert_eq!(on_with(&s, &rules(30, 30), d, &empty, &[]).len(), 6);
}

#[test]
fn buffers_keep_free_time_around_the_meeting() {
    let s = every_day(chrono_tz::UTC, &[hours("09:00", "13:00")]);
    let d = date(2026, 12, 7);
    let m = |h, m| utc(2026, 12, 7, h, m);
    let busy = [Span::new(m(10, 0), m(11, 0))];
    let r = Rules {
        buffer_before: 15,
        buffer_after: 15,
        ..rules(30, 30)
    };
    let got = on_with(&s, &r, d, &busy, &[]);
    // 09:30 would end at 10:00 but needs 15 free minutes after;
    // 11:00 needs 15 free minutes before. Buffers may lie outside hours.
    assert_eq!(starts(&got), vec![m(9, 0), m(11, 30), m(12, 0), m(12, 30)]);
}

#[test]
fn a_new_meeting_stays_out_of_an_existing_bookings_buffers() {
    let s = every_day(chrono_tz::UTC, &[hours("09:00", "12:00")]);
    let d = date(2026, 12, 7);
    let m = |h, m| utc(2026, 12, 7, h, m);
    let booked = [Booked {
        span: Span::new(m(10, 0), m(10, 30)),
        buffer_before: 0,
        buffer_after: 30,
        counts_toward_limit: true,
    }];
    let got = on_with(&s, &rules(30, 30), d, &[], &booked);
    assert_eq!(starts(&got), vec![m(9, 0), m(9, 30), m(11, 0), m(11, 30)]);
    // The booking itself is blocked even with no buffers at all.
    let plain = [Booked {
        buffer_after: 0,
        ..booked[0]
    }];
    let got = on_with(&s, &rules(30, 30), d, &[], &plain);
    assert!(!starts(&got).contains(&m(10, 0)));
    assert!(starts(&got).contains(&m(10, 30)));
}

#[test]
fn minimum_notice_and_the_booking_window_bound_the_slots() {
    let s = every_day(chrono_tz::UTC, &[hours("09:00", "17:00")]);
    let now = utc(2026, 12, 7, 8, 10);
    let r = Rules {
        minimum_notice: 120,
        window_days: 2,
        ..rules(60, 60)
    };
    let got = slots(&Query {
        schedule: &s,
        rules: &r,
        from: utc(2026, 12, 1, 0, 0),
        to: utc(2026, 12, 31, 0, 0),
        busy: &[],
        booked: &[],
        now,
    });
    // Today from 11:00 (10:10 is the notice; the grid is on the hour),
    // tomorrow and the day after in full, nothing later.
    assert_eq!(got[0].start, utc(2026, 12, 7, 11, 0));
    assert_eq!(got.len(), 6 + 8 + 8);
    assert_eq!(got.last().unwrap().start, utc(2026, 12, 9, 16, 0));
}

#[test]
fn the_daily_limit_closes_a_full_day() {
    let s = every_day(chrono_tz::UTC, &[hours("09:00", "12:00")]);
    let r = Rules {
        daily_limit: Some(1),
        ..rules(60, 60)
    };
    let booking = |counts| Booked {
        span: Span::new(utc(2026, 12, 7, 9, 0), utc(2026, 12, 7, 10, 0)),
        buffer_before: 0,
        buffer_after: 0,
        counts_toward_limit: counts,
    };
    assert!(on_with(&s, &r, date(2026, 12, 7), &[], &[booking(true)]).is_empty());
    // A booking of another event type blocks its time, not the day.
    assert_eq!(
        on_with(&s, &r, date(2026, 12, 7), &[], &[booking(false)]).len(),
        2
    );
    assert_eq!(
        on_with(&s, &r, date(2026, 12, 8), &[], &[booking(true)]).len(),
        3
    );
}

#[test]
fn the_day_limit_counts_in_the_hosts_zone() {
    // 23:30 UTC on the 7th is the 8th in Berlin.
    let s = every_day(chrono_tz::Europe::Berlin, &[hours("09:00", "12:00")]);
    let r = Rules {
        daily_limit: Some(1),
        ..rules(60, 60)
    };
    let late = [Booked {
        span: Span::new(utc(2026, 12, 7, 23, 30), utc(2026, 12, 8, 0, 0)),
        buffer_before: 0,
        buffer_after: 0,
        counts_toward_limit: true,
    }];
    assert_eq!(on_with(&s, &r, date(2026, 12, 7), &[], &late).len(), 3);
    assert!(on_with(&s, &r, date(2026, 12, 8), &[], &late).is_empty());
}

#[test]
fn slots_start_inside_the_range_asked_for() {
    let s = every_day(chrono_tz::UTC, &[hours("09:00", "17:00")]);
    let got = slots(&Query {
        schedule: &s,
        rules: &rules(60, 60),
        from: utc(2026, 12, 7, 10, 30),
        to: utc(2026, 12, 7, 13, 0),
        busy: &[],
        booked: &[],
        now: utc(2026, 12, 1, 0, 0),
    });
    assert_eq!(
        starts(&got),
        vec![utc(2026, 12, 7, 11, 0), utc(2026, 12, 7, 12, 0)]
    );
}

#[test]
fn a_shorter_interval_gives_overlapping_choices() {
    let s = every_day(chrono_tz::UTC, &[hours("09:00", "10:00")]);
    let got = on(&s, &rules(30, 15), date(2026, 12, 7));
    let m = |m| utc(2026, 12, 7, 9, m);
    assert_eq!(starts(&got), vec![m(0), m(15), m(30)]);
    assert!(got.iter().all(|s| s.end - s.start == 30 * MINUTE_MS));
}

#[test]
fn zero_length_rules_give_no_slots() {
    let s = every_day(chrono_tz::UTC, &[hours("09:00", "17:00")]);
    assert!(on(&s, &rules(0, 30), date(2026, 12, 7)).is_empty());
    assert!(on(&s, &rules(30, 0), date(2026, 12, 7)).is_empty());
}

#[test]
fn an_all_day_event_blocks_its_dates_in_the_hosts_zone() {
    let tz = chrono_tz::Europe::Berlin;
    let span = all_day(tz, date(2026, 3, 29), date(2026, 3, 30));
    assert_eq!(span.end - span.start, 23 * HOUR);
    let s = every_day(tz, &[hours("09:00", "17:00")]);
    assert!(on_with(&s, &rules(60, 60), date(2026, 3, 29), &[span], &[]).is_empty());
    assert_eq!(
        on_with(&s, &rules(60, 60), date(2026, 3, 30), &[span], &[]).len(),
        8
    );
}

#[test]
fn the_nearest_slots_are_offered_in_time_order() {
    let h = |h| Span::new(h * HOUR, h * HOUR + HOUR);
    let all = [h(9), h(10), h(11), h(14), h(15)];
    assert_eq!(nearest(&all, 12 * HOUR, 3), vec![h(10), h(11), h(14)]);
    assert_eq!(nearest(&all, 0, 2), vec![h(9), h(10)]);
    assert!(nearest(&[], 0, 2).is_empty());
}

#[test]
fn times_of_day_are_parsed_strictly() {
    assert_eq!(minute_of_day("09:30"), Ok(570));
    assert_eq!(minute_of_day("9:30"), Ok(570));
    assert_eq!(minute_of_day("24:00"), Ok(END_OF_DAY));
    for bad in [
        "24:01", "25:00", "09:60", "9", "09:3", "-1:00", "0900", "", "a:bc", "009:00",
    ] {
        assert!(minute_of_day(bad).is_err(), "{bad}");
    }
    assert_eq!(DayHours::parse("10:00", "09:00"), Err(HoursError::Empty));
    assert_eq!(DayHours::parse("10:00", "10:00"), Err(HoursError::Empty));
}

// ---- properties, against a brute-force reading of the same rules ----

fn zone() -> impl Strategy<Value = Tz> {
    prop::sample::select(vec![
        chrono_tz::UTC,
        chrono_tz::Europe::Berlin,
        chrono_tz::America::New_York,
        chrono_tz::Australia::Lord_Howe, // a 30-minute DST shift
        chrono_tz::Asia::Kolkata,
    ])
}

fn day_hours() -> impl Strategy<Value = DayHours> {
    (0u16..(24 * 4), 1u16..(12 * 4)).prop_map(|(start, len)| {
        let start = start * 15;
        DayHours::new(start, (start + len * 15).min(END_OF_DAY)).unwrap()
    })
}

fn schedule() -> impl Strategy<Value = Schedule> {
    (
        zone(),
        prop::collection::vec(prop::collection::vec(day_hours(), 0..3), 7),
        prop::collection::btree_map(0u64..20, prop::collection::vec(day_hours(), 0..2), 0..3),
    )
        .prop_map(|(tz, weekly, overrides)| Schedule {
            time_zone: tz,
            weekly: std::array::from_fn(|i| weekly[i].clone()),
            overrides: overrides
                .into_iter()
                .map(|(d, h)| (base_date() + chrono::Days::new(d), h))
                .collect(),
        })
}

fn base_date() -> NaiveDate {
    // Spans both 2026 changes in Europe and the US (March).
    date(2026, 3, 20)
}

fn base() -> i64 {
    utc(2026, 3, 20, 0, 0)
}

fn rules_strategy() -> impl Strategy<Value = Rules> {
    (
        prop::sample::select(vec![15u32, 30, 45, 60, 90]),
        prop::sample::select(vec![5u32, 15, 30, 60]),
        0u32..40,
        0u32..40,
        0u32..(48 * 60),
        0u32..20,
        prop::option::of(1u32..4),
    )
        .prop_map(
            |(
                duration,
                interval,
                buffer_before,
                buffer_after,
                minimum_notice,
                window_days,
                daily_limit,
            )| {
                Rules {
                    duration,
                    interval,
                    buffer_before,
                    buffer_after,
                    minimum_notice,
                    window_days,
                    daily_limit,
                }
            },
        )
}

fn span_strategy() -> impl Strategy<Value = Span> {
    (0i64..(20 * 24 * 4), 0i64..(8 * 4)).prop_map(|(start, len)| {
        let start = base() + start * 15 * MINUTE_MS + 7 * MINUTE_MS;
        Span::new(start, start + len * 15 * MINUTE_MS)
    })
}

fn booked_strategy() -> impl Strategy<Value = Booked> {
    (span_strategy(), 0u32..30, 0u32..30, any::<bool>()).prop_map(
        |(span, buffer_before, buffer_after, counts_toward_limit)| Booked {
            span,
            buffer_before,
            buffer_after,
            counts_toward_limit,
        },
    )
}

/// Every candidate start checked one by one against every rule.
fn brute_force(q: &Query<'_>) -> Vec<Span> {
    let (tz, r) = (q.schedule.time_zone, q.rules);
    let duration = minutes(r.duration);
    let today = local_date(tz, q.now);
    let mut out = Vec::new();
    let mut day = local_date(tz, q.from) - chrono::Days::new(1);
    while instant(tz, day, 0) < q.to {
        let booked_that_day = q
            .booked
            .iter()
            .filter(|b| b.counts_toward_limit && local_date(tz, b.span.start) == day)
            .count() as u32;
        let full = r.daily_limit.is_some_and(|l| booked_that_day >= l);
        let in_window = day >= today && (day - today).num_days() <= i64::from(r.window_days);
        for h in q.schedule.hours_on(day) {
            let (open, close) = (instant(tz, day, h.start), instant(tz, day, h.end));
            let mut start = open;
            while start + duration <= close {
                let meeting = Span::new(start, start + duration);
                let padded = Span::new(
                    start - minutes(r.buffer_before),
                    meeting.end + minutes(r.buffer_after),
                );
                let free = q.busy.iter().all(|b| !padded.overlaps(*b))
                    && q.booked.iter().filter(|b| !b.span.is_empty()).all(|b| {
                        let theirs = Span::new(
                            b.span.start - minutes(b.buffer_before),
                            b.span.end + minutes(b.buffer_after),
                        );
                        !padded.overlaps(b.span) && !meeting.overlaps(theirs)
                    });
                let notice = start >= q.now + minutes(r.minimum_notice);
                if free && notice && in_window && !full && start >= q.from && start < q.to {
                    out.push(meeting);
                }
                start += minutes(r.interval);
            }
        }
        day = day.succ_opt().unwrap();
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn slots_are_exactly_the_free_aligned_starts(
        schedule in schedule(),
        rules in rules_strategy(),
        busy in prop::collection::vec(span_strategy(), 0..40),
        booked in prop::collection::vec(booked_strategy(), 0..10),
        now_offset in 0i64..(5 * 24 * 60),
        from_offset in 0i64..(10 * 24 * 60),
        range_minutes in 1i64..(12 * 24 * 60),
    ) {
        let from = base() + from_offset * MINUTE_MS;
        let q = Query {
            schedule: &schedule,
            rules: &rules,
            from,
            to: from + range_minutes * MINUTE_MS,
            busy: &busy,
            booked: &booked,
            now: base() + now_offset * MINUTE_MS,
        };
        let got = slots(&q);
        prop_assert_eq!(&got, &brute_force(&q));
        // And what the reference checks, stated plainly.
        for pair in got.windows(2) {
            prop_assert!(pair[0].start < pair[1].start);
        }
        for slot in &got {
            let padded = Span::new(
                slot.start - minutes(rules.buffer_before),
                slot.end + minutes(rules.buffer_after),
            );
            prop_assert!(busy.iter().all(|b| !padded.overlaps(*b)));
            prop_assert!(booked.iter().all(|b| !padded.overlaps(b.span)));
            let day = local_date(schedule.time_zone, slot.start);
            let inside = schedule.hours_on(day).iter().any(|h| {
                instant(schedule.time_zone, day, h.start) <= slot.start
                    && slot.end <= instant(schedule.time_zone, day, h.end)
            });
            prop_assert!(inside, "{:?} outside working hours", slot);
        }
    }
}

#[test]
fn cutting_a_hole_leaves_what_lies_outside_it() {
    let cut = |s: (i64, i64), h: (i64, i64)| -> Vec<(i64, i64)> {
        Span::new(s.0, s.1)
            .minus(Span::new(h.0, h.1))
            .map(|p| (p.start, p.end))
            .collect()
    };
    assert_eq!(cut((10, 20), (30, 40)), [(10, 20)], "apart");
    assert_eq!(cut((10, 20), (20, 30)), [(10, 20)], "touching");
    assert_eq!(cut((10, 20), (12, 15)), [(10, 12), (15, 20)], "inside");
    assert_eq!(cut((10, 20), (5, 15)), [(15, 20)], "over the start");
    assert_eq!(cut((10, 20), (15, 25)), [(10, 15)], "over the end");
    assert_eq!(cut((10, 20), (10, 20)), [], "the same");
    assert_eq!(cut((10, 20), (0, 30)), [], "covered");
    assert_eq!(cut((10, 20), (15, 15)), [(10, 20)], "an empty hole");
}
