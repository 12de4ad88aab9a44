//! Checks of what people type that several domains share: email
//! addresses and IANA time zones.

use crate::model::Flash;
use crate::server::auth::passwords;
use crate::server::error::{AppError, AppResult};
use std::str::FromStr;

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
    fn time_zones_are_iana_names() {
        assert_eq!(check_time_zone("Europe/Berlin").unwrap(), "Europe/Berlin");
        assert!(check_time_zone("Mars/Olympus").is_err());
    }
}
