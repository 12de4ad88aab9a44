//! Times as people and agents read them: RFC 3339 with the reader's offset,
//! and a phrase a voice agent can say ("Tuesday 2 December at 2:00 PM").

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

fn local(ms: i64, tz: Tz) -> DateTime<Tz> {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&tz)
}

/// RFC 3339 in `tz`, with its offset at that instant (`Z` for UTC).
pub fn rfc3339(ms: i64, tz: Tz) -> String {
    local(ms, tz).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// "Tuesday 2 December at 2:00 PM" in `tz`.
pub fn speakable(ms: i64, tz: Tz) -> String {
    local(ms, tz).format("%A %-d %B at %-I:%M %p").to_string()
}

/// `ms` in `tz` with a `chrono` format string, for the booking pages.
pub fn formatted(ms: i64, tz: Tz, format: &str) -> String {
    local(ms, tz).format(format).to_string()
}

/// A start as unix ms from RFC 3339 (any offset).
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_in_the_reader_zone() {
        // 2026-12-01T13:00:00Z
        let ms = 1_796_130_000_000;
        assert_eq!(rfc3339(ms, chrono_tz::UTC), "2026-12-01T13:00:00Z");
        assert_eq!(
            rfc3339(ms, chrono_tz::Europe::Berlin),
            "2026-12-01T14:00:00+01:00"
        );
        assert_eq!(
            speakable(ms, chrono_tz::Europe::Berlin),
            "Tuesday 1 December at 2:00 PM"
        );
        assert_eq!(
            speakable(ms, chrono_tz::America::New_York),
            "Tuesday 1 December at 8:00 AM"
        );
        assert_eq!(parse_rfc3339("2026-12-01T14:00:00+01:00"), Some(ms));
        assert_eq!(parse_rfc3339(" 2026-12-01T13:00:00Z "), Some(ms));
        assert_eq!(parse_rfc3339("2026-12-01 14:00"), None);
        assert_eq!(parse_rfc3339("tomorrow"), None);
    }
}
