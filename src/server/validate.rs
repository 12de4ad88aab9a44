//! Checks of what people type that several domains share: names, email
//! addresses and IANA time zones.

use crate::model::Flash;
use crate::server::auth::passwords;
use crate::server::error::{AppError, AppResult};
use std::str::FromStr;

/// A name or title as typed: trimmed, 1 to `max_chars` characters, and on
/// one line — no control characters (line breaks, tabs, escapes) and no
/// Unicode line or paragraph separators, which would break the headers,
/// calendar files and invitations a name ends up in. `None` otherwise.
pub fn one_line_name(raw: &str, max_chars: usize) -> Option<&str> {
    let name = raw.trim();
    let count = name.chars().count();
    let one_line = !name
        .chars()
        .any(|c| c.is_control() || c == '\u{2028}' || c == '\u{2029}');
    ((1..=max_chars).contains(&count) && one_line).then_some(name)
}

pub fn normalize_email(raw: &str) -> AppResult<String> {
    let email = raw.trim().to_lowercase();
    let valid = email.len() <= passwords::MAX_EMAIL_LEN
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        })
        && !email.chars().any(char::is_whitespace);
    if valid {
        Ok(email)
    } else {
        Err(AppError::Invalid(Flash::InvalidEmail))
    }
}

pub fn check_time_zone(tz: &str) -> AppResult<String> {
    chrono_tz::Tz::from_str(tz.trim())
        .map(|z| z.name().to_owned())
        .map_err(|_| AppError::Invalid(Flash::InvalidTimeZone))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(
            normalize_email("  Alice@Example.COM ").unwrap(),
            "alice@example.com"
        );
        for bad in [
            "",
            "alice",
            "@x.com",
            "a@b",
            "a@.com",
            "a@com.",
            "a b@x.com",
            "a@b@c.com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_are_one_line_and_bounded() {
        assert_eq!(one_line_name("  Ada Lovelace ", 100), Some("Ada Lovelace"));
        assert_eq!(one_line_name("Zoë Ñúñez 山田", 100), Some("Zoë Ñúñez 山田"));
        assert_eq!(
            one_line_name(&"a".repeat(100), 100).map(str::len),
            Some(100)
        );
        for bad in [
            "",
            "   ",
            "Ada\nLovelace",
            "Ada\rLovelace",
            "Ada\r\nBCC: x@evil.test",
            "Ada\tLovelace",
            "Ada\u{0}",
            "Ada\u{1b}[31m",
            "Ada\u{85}Lovelace",
            "Ada\u{2028}Lovelace",
            "Ada\u{2029}Lovelace",
        ] {
            assert_eq!(one_line_name(bad, 100), None, "{bad:?}");
        }
        assert_eq!(one_line_name(&"é".repeat(101), 100), None);
    }

    #[test]
    fn time_zones_are_iana_names() {
        assert_eq!(check_time_zone("Europe/Berlin").unwrap(), "Europe/Berlin");
        assert!(check_time_zone("Mars/Olympus").is_err());
    }
}
