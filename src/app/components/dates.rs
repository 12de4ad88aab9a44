//! The few date formats the browser shows, without chrono: its parser and
//! `strftime` machinery are large in WASM, and the server already sends
//! every timestamp as RFC 3339 (and days as `YYYY-MM-DD`). The tests pin the
//! output to what chrono prints for the same input.

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// The number in `bytes[at..at + len]`, if all of those are ASCII digits.
fn digits(bytes: &[u8], at: usize, len: usize) -> Option<u32> {
    bytes.get(at..at + len)?.iter().try_fold(0u32, |n, b| {
        b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
    })
}

/// A calendar day (proleptic Gregorian).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Day {
    year: i64,
    month: u32,
    day: u32,
}

impl Day {
    fn new(year: i64, month: u32, day: u32) -> Option<Self> {
        (day >= 1 && day <= days_in_month(year, month)).then_some(Self { year, month, day })
    }

    /// `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        Self::new(
            i64::from(digits(b, 0, 4)?),
            digits(b, 5, 2)?,
            digits(b, 8, 2)?,
        )
    }

    /// Days since 1970-01-01 (H. Hinnant's `days_from_civil`).
    fn to_days(self) -> i64 {
        let y = if self.month <= 2 {
            self.year - 1
        } else {
            self.year
        };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The inverse of [`Day::to_days`].
    fn from_days(days: i64) -> Self {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Self { year, month, day }
    }

    /// The day `n` days later.
    pub fn add_days(self, n: i64) -> Self {
        Self::from_days(self.to_days() + n)
    }

    /// `YYYY-MM-DD` (chrono's `%Y-%m-%d`).
    pub fn iso(self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    /// e.g. `Mon 23` (chrono's `%a %-d`).
    pub fn weekday_and_day(self) -> String {
        // 1970-01-01 was a Thursday.
        let weekday = (self.to_days() + 3).rem_euclid(7) as usize;
        format!("{} {}", WEEKDAYS[weekday], self.day)
    }
}

impl Default for Day {
    /// 1970-01-01, like chrono's `NaiveDate::default()`.
    fn default() -> Self {
        Self {
            year: 1970,
            month: 1,
            day: 1,
        }
    }
}

/// The day and local time of an RFC 3339 timestamp, as written (no time zone
/// conversion), when it is a valid one.
fn parse_rfc3339(text: &str) -> Option<(Day, u32, u32)> {
    let b = text.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let day = Day::new(
        i64::from(digits(b, 0, 4)?),
        digits(b, 5, 2)?,
        digits(b, 8, 2)?,
    )?;
    let (hour, minute, second) = (digits(b, 11, 2)?, digits(b, 14, 2)?, digits(b, 17, 2)?);
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &b[19..];
    if let [b'.', frac @ ..] = rest {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        rest = &frac[n..];
    }
    let offset_ok = match rest {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            let offset = [*h1, *h2, *m1, *m2];
            digits(&offset, 0, 2).is_some_and(|h| h <= 23)
                && digits(&offset, 2, 2).is_some_and(|m| m <= 59)
        }
        _ => false,
    };
    offset_ok.then_some((day, hour, minute))
}

/// `2026-11-21T15:04:05Z` → `21 Nov 15:04` (the time as written, for compact
/// table cells); anything that is not RFC 3339 is shown as it came.
pub fn utc_short(rfc3339: &str) -> String {
    match parse_rfc3339(rfc3339) {
        Some((day, hour, minute)) => format!(
            "{} {} {hour:02}:{minute:02}",
            day.day,
            MONTHS[day.month as usize - 1]
        ),
        None => rfc3339.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chrono_short(text: &str) -> String {
        chrono::DateTime::parse_from_rfc3339(text)
            .map(|t| t.format("%-d %b %H:%M").to_string())
            .unwrap_or_else(|_| text.to_owned())
    }

    #[test]
    fn utc_short_matches_chrono() {
        for text in [
            "2026-11-21T15:04:05Z",
            "2026-01-01T00:00:00Z",
            "2026-03-09T09:07:00.123Z",
            "2026-12-31T23:59:60Z",
            "2024-02-29T12:00:00+02:00",
            "2023-02-29T12:00:00Z",
            "2026-11-21t15:04:05z",
            "2026-11-21 15:04:05-05:30",
            "2026-11-21T15:04:05.Z",
            "2026-11-21T24:00:00Z",
            "2026-11-21T15:04:05",
            "2026-11-21T15:04:05+24:00",
            "2026-13-01T00:00:00Z",
            "2026-11-21T15:04:05Zjunk",
            "2026-11-21",
            "",
            "never",
        ] {
            assert_eq!(utc_short(text), chrono_short(text), "{text}");
        }
    }

    #[test]
    fn days_match_chrono() {
        use chrono::{Datelike, NaiveDate};
        let mut day = Day::parse("1999-12-25").unwrap();
        let mut expected = NaiveDate::from_ymd_opt(1999, 12, 25).unwrap();
        for _ in 0..20_000 {
            assert_eq!(day.iso(), expected.format("%Y-%m-%d").to_string());
            assert_eq!(day.weekday_and_day(), expected.format("%a %-d").to_string());
            assert_eq!(Day::parse(&day.iso()), Some(day));
            assert_eq!(
                day.to_days(),
                i64::from(expected.num_days_from_ce()) - 719_163
            );
            day = day.add_days(1);
            expected = expected.succ_opt().unwrap();
        }
        assert_eq!(Day::parse("2026-02-30"), None);
        assert_eq!(Day::parse("2026-2-3"), None);
        assert_eq!(
            Day::default().iso(),
            NaiveDate::default().format("%Y-%m-%d").to_string()
        );
    }
}
