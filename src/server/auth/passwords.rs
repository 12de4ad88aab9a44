//! argon2id password hashing, off the async runtime.

use crate::model::Flash;
use crate::server::error::{AppError, AppResult};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use std::sync::OnceLock;
use tokio::sync::Semaphore;

pub const MIN_PASSWORD_LEN: usize = 10;
const MAX_PASSWORD_LEN: usize = 1024;

pub fn check_policy(password: &str) -> AppResult<()> {
    let len = password.chars().count();
    if !(MIN_PASSWORD_LEN..=MAX_PASSWORD_LEN).contains(&len) {
        return Err(AppError::Invalid(Flash::WeakPassword));
    }
    Ok(())
}

/// Longest email accepted anywhere (RFC 5321's path limit).
pub const MAX_EMAIL_LEN: usize = 254;

/// Whether a login attempt is worth an argon2 check at all: nothing longer
/// than any account could have.
pub fn plausible_login(email: &str, password: &str) -> bool {
    email.len() <= MAX_EMAIL_LEN && !email.is_empty() && password.len() <= 4 * MAX_PASSWORD_LEN
}

/// argon2 runs at most one per core: a burst of logins queues here rather
/// than filling the blocking pool and starving every other request.
fn hashing_slots() -> &'static Semaphore {
    static SLOTS: OnceLock<Semaphore> = OnceLock::new();
    SLOTS
        .get_or_init(|| Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())))
}

async fn on_hashing_slot<T: Send + 'static>(
    work: impl FnOnce() -> AppResult<T> + Send + 'static,
) -> AppResult<T> {
    let _slot = hashing_slots()
        .acquire()
        .await
        .map_err(AppError::internal)?;
    metrics::counter!("password_hashes_total").increment(1);
    tokio::task::spawn_blocking(work)
        .await
        .map_err(AppError::internal)?
}

pub async fn hash(password: &str) -> AppResult<String> {
    let password = password.to_owned();
    on_hashing_slot(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AppError::internal(format!("argon2: {e}")))
    })
    .await
}

pub async fn verify(password: &str, stored_hash: &str) -> AppResult<bool> {
    let password = password.to_owned();
    let stored_hash = stored_hash.to_owned();
    on_hashing_slot(move || {
        let parsed = PasswordHash::new(&stored_hash)
            .map_err(|e| AppError::internal(format!("argon2: {e}")))?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
}

/// Spends the same time as a real check, so an unknown email cannot be told
/// apart from a wrong password by timing.
pub async fn verify_dummy(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let hash = DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(b"calbridge-dummy-password", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    });
    let _ = verify(password, hash).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_verifies_only_the_right_password() {
        let h = hash("correct horse battery").await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &h).await.unwrap());
        assert!(!verify("correct horse batterz", &h).await.unwrap());
    }

    #[test]
    fn policy_rejects_short_and_huge_passwords() {
        assert!(check_policy("short").is_err());
        assert!(check_policy(&"x".repeat(2000)).is_err());
        assert!(check_policy("long enough pass").is_ok());
    }
}
