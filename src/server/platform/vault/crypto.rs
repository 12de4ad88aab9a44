//! Token vault primitives: AES-256-GCM with a fresh 96-bit nonce per
//! encryption, a key id stored beside every ciphertext, and associated data
//! that binds a ciphertext to the row it belongs to.
//!
//! Envelope scheme: the master key (from `CALBRIDGE_MASTER_KEY`, or a dev key
//! file) only wraps data keys; data keys encrypt secrets. Rotation adds a data
//! key and re-encrypts secrets without the operator changing any variable.

pub use crate::server::platform::db::vault::Sealed;
use aes_gcm::aead::{Aead, KeyInit, OsRng, Payload};
use aes_gcm::{AeadCore, Aes256Gcm, Key, Nonce};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;
use std::path::Path;

const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("ciphertext was encrypted with unknown key id {0}")]
    UnknownKey(String),
    /// Wrong key, wrong associated data or tampered bytes: GCM cannot tell
    /// which, and neither do we.
    #[error("decryption failed")]
    Decrypt,
    #[error("malformed ciphertext")]
    Malformed,
    #[error("master key file: {0}")]
    KeyFile(String),
}

/// A secret value in memory. No `Debug`, `Display` or `Serialize` output.
pub struct SecretString(String);

impl SecretString {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(***)")
    }
}

/// What a ciphertext is bound to. Copying a ciphertext to another row makes
/// these differ and decryption fail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding<'a> {
    pub tenant: &'a str,
    pub owner_kind: &'a str,
    pub owner_id: &'a str,
    pub purpose: &'a str,
}

impl Binding<'_> {
    fn aad(&self) -> Vec<u8> {
        // Length-prefixed so that no two different bindings serialize alike.
        let mut out = b"calbridge/secret/v1".to_vec();
        for part in [self.tenant, self.owner_kind, self.owner_id, self.purpose] {
            out.extend_from_slice(&(part.len() as u32).to_be_bytes());
            out.extend_from_slice(part.as_bytes());
        }
        out
    }
}

/// The key-encryption key. Never leaves memory except to its own file in dev.
pub struct MasterKey(Aes256Gcm);

impl MasterKey {
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        Self(Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(bytes)))
    }

    /// Encrypts a data key; the result is `nonce || ciphertext`.
    pub fn wrap(&self, key_id: &str, data_key: &[u8; 32]) -> Vec<u8> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let aad = wrap_aad(key_id);
        let ct = self
            .0
            .encrypt(
                &nonce,
                Payload {
                    msg: data_key,
                    aad: &aad,
                },
            )
            .expect("AES-GCM encryption of 32 bytes cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        out
    }

    pub fn unwrap_key(&self, key_id: &str, wrapped: &[u8]) -> Result<[u8; 32], CryptoError> {
        if wrapped.len() <= NONCE_LEN {
            return Err(CryptoError::Malformed);
        }
        let (nonce, ct) = wrapped.split_at(NONCE_LEN);
        let aad = wrap_aad(key_id);
        let plain = self
            .0
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: &aad })
            .map_err(|_| CryptoError::Decrypt)?;
        plain.try_into().map_err(|_| CryptoError::Malformed)
    }
}

fn wrap_aad(key_id: &str) -> Vec<u8> {
    format!("calbridge/data-key/v1/{key_id}").into_bytes()
}

/// Fresh random key material.
pub fn random_key() -> [u8; 32] {
    Aes256Gcm::generate_key(&mut OsRng).into()
}

/// Data keys by id, and the one new secrets are sealed with.
#[derive(Default)]
pub struct KeyRing {
    keys: HashMap<String, Aes256Gcm>,
    active: Option<String>,
}

impl KeyRing {
    pub fn insert(&mut self, key_id: &str, key: &[u8; 32]) {
        self.keys.insert(
            key_id.to_owned(),
            Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)),
        );
    }

    pub fn set_active(&mut self, key_id: &str) -> Result<(), CryptoError> {
        if !self.keys.contains_key(key_id) {
            return Err(CryptoError::UnknownKey(key_id.to_owned()));
        }
        self.active = Some(key_id.to_owned());
        Ok(())
    }

    pub fn active(&self) -> Option<&str> {
        self.active.as_deref()
    }

    pub fn contains(&self, key_id: &str) -> bool {
        self.keys.contains_key(key_id)
    }

    pub fn remove(&mut self, key_id: &str) {
        if self.active.as_deref() != Some(key_id) {
            self.keys.remove(key_id);
        }
    }

    pub fn seal(&self, binding: &Binding<'_>, plaintext: &[u8]) -> Result<Sealed, CryptoError> {
        let key_id = self
            .active
            .as_deref()
            .ok_or_else(|| CryptoError::UnknownKey("<none active>".into()))?;
        let cipher = &self.keys[key_id];
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let aad = binding.aad();
        let ciphertext = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| CryptoError::Malformed)?;
        Ok(Sealed {
            key_id: key_id.to_owned(),
            nonce: nonce.to_vec(),
            ciphertext,
        })
    }

    pub fn open(&self, sealed: &Sealed, binding: &Binding<'_>) -> Result<Vec<u8>, CryptoError> {
        let cipher = self
            .keys
            .get(&sealed.key_id)
            .ok_or_else(|| CryptoError::UnknownKey(sealed.key_id.clone()))?;
        if sealed.nonce.len() != NONCE_LEN {
            return Err(CryptoError::Malformed);
        }
        let aad = binding.aad();
        cipher
            .decrypt(
                Nonce::from_slice(&sealed.nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| CryptoError::Decrypt)
    }
}

/// Reads the dev master key file, creating it (mode 0600) when absent.
pub fn load_or_create_key_file(path: &Path) -> Result<[u8; 32], CryptoError> {
    use base64::Engine;
    use std::io::Write;
    let engine = base64::engine::general_purpose::STANDARD;
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let bytes = engine
                .decode(text.trim())
                .map_err(|_| CryptoError::KeyFile(format!("{} is not base64", path.display())))?;
            bytes
                .try_into()
                .map_err(|_| CryptoError::KeyFile(format!("{} must hold 32 bytes", path.display())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = random_key();
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| CryptoError::KeyFile(e.to_string()))?;
            }
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options
                .open(path)
                .map_err(|e| CryptoError::KeyFile(format!("{}: {e}", path.display())))?;
            file.write_all(engine.encode(key).as_bytes())
                .and_then(|_| file.sync_all())
                .map_err(|e| CryptoError::KeyFile(format!("{}: {e}", path.display())))?;
            Ok(key)
        }
        Err(e) => Err(CryptoError::KeyFile(format!("{}: {e}", path.display()))),
    }
}

/// A 256-bit random token, URL-safe.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// How tokens are stored: only their SHA-256, so a database leak does not
/// hand out live sessions or invites.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashes_stable() {
        let a = random_token();
        let b = random_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash(&a), token_hash(&a));
        assert_ne!(token_hash(&a), token_hash(&b));
        assert_eq!(token_hash(&a).len(), 64);
    }

    fn binding<'a>(owner: &'a str, purpose: &'a str) -> Binding<'a> {
        Binding {
            tenant: "t1",
            owner_kind: "connection",
            owner_id: owner,
            purpose,
        }
    }

    fn ring_with(ids: &[&str]) -> KeyRing {
        let mut ring = KeyRing::default();
        for id in ids {
            ring.insert(id, &random_key());
        }
        ring.set_active(ids[0]).unwrap();
        ring
    }

    #[test]
    fn round_trip() {
        let ring = ring_with(&["k1"]);
        let sealed = ring
            .seal(&binding("c1", "access_token"), b"tok-123")
            .unwrap();
        assert_eq!(sealed.key_id, "k1");
        assert_eq!(sealed.nonce.len(), 12);
        assert!(!sealed.ciphertext.windows(7).any(|w| w == b"tok-123"));
        assert_eq!(
            ring.open(&sealed, &binding("c1", "access_token")).unwrap(),
            b"tok-123"
        );
    }

    #[test]
    fn nonces_are_fresh() {
        let ring = ring_with(&["k1"]);
        let a = ring.seal(&binding("c1", "p"), b"same").unwrap();
        let b = ring.seal(&binding("c1", "p"), b"same").unwrap();
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
    }

    #[test]
    fn wrong_binding_fails() {
        let ring = ring_with(&["k1"]);
        let sealed = ring.seal(&binding("c1", "access_token"), b"tok").unwrap();
        for other in [
            binding("c2", "access_token"),
            binding("c1", "refresh_token"),
            Binding {
                tenant: "t2",
                ..binding("c1", "access_token")
            },
            Binding {
                owner_kind: "user",
                ..binding("c1", "access_token")
            },
        ] {
            assert_eq!(ring.open(&sealed, &other), Err(CryptoError::Decrypt));
        }
    }

    #[test]
    fn ambiguous_bindings_differ() {
        let a = Binding {
            tenant: "ab",
            owner_kind: "c",
            owner_id: "",
            purpose: "",
        };
        let b = Binding {
            tenant: "a",
            owner_kind: "bc",
            owner_id: "",
            purpose: "",
        };
        assert_ne!(a.aad(), b.aad());
    }

    #[test]
    fn tampering_fails() {
        let ring = ring_with(&["k1"]);
        let b = binding("c1", "p");
        let sealed = ring.seal(&b, b"secret value").unwrap();
        for i in 0..sealed.ciphertext.len() {
            let mut t = sealed.clone();
            t.ciphertext[i] ^= 0x01;
            assert_eq!(ring.open(&t, &b), Err(CryptoError::Decrypt), "byte {i}");
        }
        let mut t = sealed.clone();
        t.nonce[0] ^= 0x80;
        assert_eq!(ring.open(&t, &b), Err(CryptoError::Decrypt));
        let mut t = sealed.clone();
        t.ciphertext.truncate(4);
        assert!(ring.open(&t, &b).is_err());
    }

    #[test]
    fn unknown_key_id_is_reported() {
        let ring = ring_with(&["k1"]);
        let mut sealed = ring.seal(&binding("c1", "p"), b"x").unwrap();
        sealed.key_id = "k9".into();
        assert_eq!(
            ring.open(&sealed, &binding("c1", "p")),
            Err(CryptoError::UnknownKey("k9".into()))
        );
    }

    #[test]
    fn rotation_keeps_old_ciphertexts_readable_until_reencrypted() {
        let mut ring = ring_with(&["k1"]);
        let b = binding("c1", "p");
        let old = ring.seal(&b, b"v").unwrap();
        ring.insert("k2", &random_key());
        ring.set_active("k2").unwrap();
        // Old key still readable during rotation.
        let plain = ring.open(&old, &b).unwrap();
        let new = ring.seal(&b, &plain).unwrap();
        assert_eq!(new.key_id, "k2");
        ring.remove("k1");
        assert_eq!(ring.open(&new, &b).unwrap(), b"v");
        assert_eq!(
            ring.open(&old, &b),
            Err(CryptoError::UnknownKey("k1".into()))
        );
        // The active key can never be removed.
        ring.remove("k2");
        assert!(ring.contains("k2"));
    }

    #[test]
    fn master_key_wraps_data_keys_bound_to_their_id() {
        let master = MasterKey::from_bytes(&random_key());
        let dek = random_key();
        let wrapped = master.wrap("k1", &dek);
        assert_eq!(master.unwrap_key("k1", &wrapped).unwrap(), dek);
        assert_eq!(master.unwrap_key("k2", &wrapped), Err(CryptoError::Decrypt));
        let other = MasterKey::from_bytes(&random_key());
        assert_eq!(other.unwrap_key("k1", &wrapped), Err(CryptoError::Decrypt));
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/master.key");
        let first = load_or_create_key_file(&path).unwrap();
        let second = load_or_create_key_file(&path).unwrap();
        assert_eq!(first, second);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
