//! `Calendly-Webhook-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`: HMAC-SHA256
//! with the subscription's signing key over `"{t}.{raw body}"`. Pure: no
//! I/O, the clock is an argument.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// How far the signed time may be from ours, either way.
pub const TOLERANCE_SECS: i64 = 180;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no signature header")]
    Missing,
    #[error("the signature header is malformed")]
    Malformed,
    #[error("the signature is too old or from the future")]
    Stale,
    #[error("the signature does not match")]
    Mismatch,
}

struct Parsed {
    timestamp: i64,
    signatures: Vec<Vec<u8>>,
}

fn parse(header: &str) -> Result<Parsed, SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let (key, value) = part
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed)?;
        match key {
            "t" if timestamp.is_none() => {
                timestamp = Some(value.parse().map_err(|_| SignatureError::Malformed)?)
            }
            "t" => return Err(SignatureError::Malformed),
            "v1" => signatures.push(hex::decode(value).map_err(|_| SignatureError::Malformed)?),
            // Future schemes are ignored, as Calendly's docs ask.
            _ => {}
        }
    }
    match timestamp {
        Some(timestamp) if !signatures.is_empty() => Ok(Parsed {
            timestamp,
            signatures,
        }),
        _ => Err(SignatureError::Malformed),
    }
}

fn mac(key: &[u8], timestamp: i64, body: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// Checks a delivery; any one matching `v1` value is enough (Calendly sends
/// several while a key is being rotated).
pub fn verify(
    header: Option<&str>,
    key: &[u8],
    body: &[u8],
    now_unix: i64,
) -> Result<(), SignatureError> {
    let parsed = parse(header.ok_or(SignatureError::Missing)?)?;
    if (now_unix - parsed.timestamp).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    let expected = mac(key, parsed.timestamp, body);
    let matched = parsed.signatures.iter().fold(0u8, |any, candidate| {
        any | expected.ct_eq(candidate).unwrap_u8()
    });
    if matched == 1 {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The header value for `body` signed at `timestamp` (load tool and tests).
pub fn sign(key: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac(key, timestamp, body))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"signing-key";
    const BODY: &[u8] = br#"{"event":"invitee.created"}"#;
    const NOW: i64 = 1_800_000_000;

    #[test]
    fn a_valid_signature_passes() {
        let header = sign(KEY, NOW, BODY);
        assert_eq!(verify(Some(&header), KEY, BODY, NOW), Ok(()));
        assert_eq!(verify(Some(&header), KEY, BODY, NOW + 180), Ok(()));
        assert_eq!(verify(Some(&header), KEY, BODY, NOW - 180), Ok(()));
    }

    #[test]
    fn wrong_key_and_tampered_body_fail() {
        let header = sign(KEY, NOW, BODY);
        assert_eq!(
            verify(Some(&header), b"other", BODY, NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(Some(&header), KEY, br#"{"event":"invitee.canceled"}"#, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn stale_and_future_timestamps_fail() {
        let header = sign(KEY, NOW, BODY);
        assert_eq!(
            verify(Some(&header), KEY, BODY, NOW + 181),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(Some(&header), KEY, BODY, NOW - 181),
            Err(SignatureError::Stale)
        );
    }

    #[test]
    fn missing_and_garbled_headers_fail() {
        assert_eq!(verify(None, KEY, BODY, NOW), Err(SignatureError::Missing));
        for garbled in [
            "",
            "t=",
            "v1=abcd",
            &format!("t={NOW}"),
            &format!("t={NOW},v1=zz"),
            &format!("t=abc,v1={}", "00".repeat(32)),
            &format!("t={NOW},t={NOW},v1={}", "00".repeat(32)),
            "garbage",
        ] {
            assert_eq!(
                verify(Some(garbled), KEY, BODY, NOW),
                Err(SignatureError::Malformed),
                "{garbled}"
            );
        }
    }

    #[test]
    fn any_of_several_v1_values_may_match() {
        let good = sign(KEY, NOW, BODY);
        let good_hex = good.split("v1=").nth(1).unwrap();
        let several = format!("t={NOW},v1={},v1={good_hex}", "ab".repeat(32));
        assert_eq!(verify(Some(&several), KEY, BODY, NOW), Ok(()));
        let none = format!("t={NOW},v1={},v1={}", "ab".repeat(32), "cd".repeat(32));
        assert_eq!(
            verify(Some(&none), KEY, BODY, NOW),
            Err(SignatureError::Mismatch)
        );
        // A truncated signature never matches.
        let short = format!("t={NOW},v1={}", &good_hex[..16]);
        assert_eq!(
            verify(Some(&short), KEY, BODY, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn arbitrary_headers_never_panic() {
        let inputs = [
            "t=99999999999999999999,v1=00",
            "t=-5,v1=",
            ",,,,",
            "=,=,=",
            "t=1,v1=0",
            "\u{0}\u{ffff}",
            "t=1 ,v1= 00",
        ];
        for input in inputs {
            let _ = verify(Some(input), KEY, BODY, NOW);
        }
        // Every prefix of a valid header either verifies or fails cleanly.
        let header = sign(KEY, NOW, BODY);
        for end in 0..header.len() {
            let _ = verify(Some(&header[..end]), KEY, BODY, NOW);
        }
    }
}
