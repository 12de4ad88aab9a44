//! The token vault service: seals secrets into the `secrets` table and opens
//! them again, keeps the data-key ring in step with the database, and rotates
//! keys.

pub mod crypto;
mod secret;

pub use secret::{Holder, Secret, API_KEY_REVEAL_MS};

use crate::server::platform::db::vault::{self as repo, SecretOwner};
use crate::server::platform::db::{Db, DbError, TenantScope};
use crate::server::platform::vault::crypto::{
    random_key, Binding, CryptoError, KeyRing, MasterKey, SecretString,
};
use sqlx::{Any, Executor};
use std::sync::RwLock;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("the master key cannot decrypt the stored data keys: CALBRIDGE_MASTER_KEY (or data/master.key) is not the key this database was created with")]
    WrongMasterKey,
}

pub struct Vault {
    master: MasterKey,
    ring: RwLock<KeyRing>,
    db: Db,
}

#[derive(Debug, PartialEq, Eq)]
pub struct RotationReport {
    pub new_key_id: String,
    pub reencrypted: usize,
    pub keys_removed: u64,
}

fn binding<'a>(scope_tenant: &'a str, owner: &SecretOwner<'a>) -> Binding<'a> {
    Binding {
        tenant: scope_tenant,
        owner_kind: owner.kind,
        owner_id: owner.id,
        purpose: owner.purpose,
    }
}

impl Vault {
    /// Loads every data key, creating the first one on a new database.
    pub async fn open(db: Db, master: [u8; 32]) -> Result<Self, VaultError> {
        let vault = Vault {
            master: MasterKey::from_bytes(&master),
            ring: RwLock::new(KeyRing::default()),
            db,
        };
        if repo::active_key_id(vault.db.pool()).await?.is_none() {
            vault.add_key().await?;
        }
        vault.reload().await?;
        Ok(vault)
    }

    async fn add_key(&self) -> Result<String, VaultError> {
        let id = uuid::Uuid::now_v7().to_string();
        let wrapped = self.master.wrap(&id, &random_key());
        let mut tx = self.db.begin_write().await?;
        repo::add_active_key(&mut tx, &id, &wrapped).await?;
        tx.commit().await.map_err(DbError::from)?;
        Ok(id)
    }

    async fn reload(&self) -> Result<(), VaultError> {
        let mut conn = self.db.pool().acquire().await.map_err(DbError::from)?;
        self.reload_on(&mut conn).await
    }

    async fn reload_on(&self, conn: &mut sqlx::AnyConnection) -> Result<(), VaultError> {
        let stored = repo::keys(&mut *conn).await?;
        let mut ring = KeyRing::default();
        for key in &stored {
            let material = self
                .master
                .unwrap_key(&key.id, &key.wrapped)
                .map_err(|_| VaultError::WrongMasterKey)?;
            ring.insert(&key.id, &material);
            if key.state == "active" {
                ring.set_active(&key.id)?;
            }
        }
        *self.ring.write().expect("vault lock poisoned") = ring;
        Ok(())
    }

    /// Another process (`calbridge rotate-key`) may have added a key since we
    /// loaded ours; seal only with the key the database calls active. Runs
    /// on the caller's connection: inside a write transaction, taking a
    /// second pool connection could wait on writers that wait on us.
    async fn ensure_current(&self, conn: &mut sqlx::AnyConnection) -> Result<(), VaultError> {
        let active = repo::active_key_id(&mut *conn).await?;
        let current = self
            .ring
            .read()
            .expect("vault lock poisoned")
            .active()
            .map(str::to_owned);
        if active != current {
            self.reload_on(conn).await?;
        }
        Ok(())
    }

    /// Encrypts and stores (or replaces) one secret.
    pub async fn store(
        &self,
        conn: &mut sqlx::AnyConnection,
        scope: &TenantScope,
        secret: &Secret,
        plaintext: &str,
    ) -> Result<(), VaultError> {
        let id = secret.holder().id();
        let owner = secret.owner(&id);
        self.ensure_current(&mut *conn).await?;
        let tenant = scope.tenant();
        let sealed = self
            .ring
            .read()
            .expect("vault lock poisoned")
            .seal(&binding(&tenant, &owner), plaintext.as_bytes())?;
        repo::put(&mut *conn, scope, owner, &sealed).await?;
        Ok(())
    }

    /// Reads and decrypts one secret.
    pub async fn load<'e, E: Executor<'e, Database = Any>>(
        &self,
        ex: E,
        scope: &TenantScope,
        secret: &Secret,
    ) -> Result<Option<SecretString>, VaultError> {
        let id = secret.holder().id();
        let owner = secret.owner(&id);
        let Some(sealed) = repo::get(ex, scope, owner).await? else {
            return Ok(None);
        };
        if !self
            .ring
            .read()
            .expect("vault lock poisoned")
            .contains(&sealed.key_id)
        {
            self.reload().await?;
        }
        let tenant = scope.tenant();
        let plain = self
            .ring
            .read()
            .expect("vault lock poisoned")
            .open(&sealed, &binding(&tenant, &owner))?;
        let text = String::from_utf8(plain).map_err(|_| CryptoError::Malformed)?;
        Ok(Some(SecretString::new(text)))
    }

    /// Forgets one secret.
    pub async fn forget<'e, E: Executor<'e, Database = Any>>(
        &self,
        ex: E,
        scope: &TenantScope,
        secret: &Secret,
    ) -> Result<(), VaultError> {
        let holder = secret.holder();
        repo::delete_purpose(ex, scope, holder.kind(), &holder.id(), secret.purpose()).await?;
        Ok(())
    }

    /// Forgets every secret of a row (it is being deleted).
    pub async fn forget_all<'e, E: Executor<'e, Database = Any>>(
        &self,
        ex: E,
        scope: &TenantScope,
        holder: &Holder,
    ) -> Result<(), VaultError> {
        repo::delete_for_owner(ex, scope, holder.kind(), &holder.id()).await?;
        Ok(())
    }

    /// Adds a new data key, re-encrypts every secret with it in one
    /// transaction, then drops the keys nothing uses any more. Until the
    /// re-encryption commits, old keys stay readable.
    pub async fn rotate(&self) -> Result<RotationReport, VaultError> {
        let new_key_id = self.add_key().await?;
        self.reload().await?;
        let mut tx = self.db.begin_write().await?;
        let rows = repo::not_under_key(&mut tx, &new_key_id).await?;
        let reencrypted = rows.len();
        for row in rows {
            let owner = SecretOwner {
                kind: &row.owner_kind,
                id: &row.owner_id,
                purpose: &row.purpose,
            };
            let sealed = crate::server::platform::vault::crypto::Sealed {
                key_id: row.key_id.clone(),
                nonce: row.nonce.clone(),
                ciphertext: row.ciphertext.clone(),
            };
            let resealed = {
                let ring = self.ring.read().expect("vault lock poisoned");
                let plain = ring.open(&sealed, &binding(&row.tenant_id, &owner))?;
                ring.seal(&binding(&row.tenant_id, &owner), &plain)?
            };
            repo::replace_sealed(&mut tx, &row.id, &resealed).await?;
        }
        tx.commit().await.map_err(DbError::from)?;
        let keys_removed = repo::delete_unused_retired_keys(self.db.pool()).await?;
        self.reload().await?;
        Ok(RotationReport {
            new_key_id,
            reencrypted,
            keys_removed,
        })
    }
}
