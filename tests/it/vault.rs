//! The token vault against real storage: secrets are encrypted at rest,
//! bound to their row, and survive key rotation. Both backends.

use crate::common;

use calbridge::model::ConnectionId;
use calbridge::server::accounts;
use calbridge::server::app_state::build_state;
use calbridge::server::platform::db::TenantScope;
use calbridge::server::platform::vault::Secret;
use common::*;
use sqlx::Row;

const SECRET: &str = "ya29.super-secret-access-token-value";

async fn tenant(app: &TestApp, name: &str) -> TenantScope {
    accounts::create_admin(
        &app.state.accounts,
        name,
        &format!("admin@{name}.test"),
        "Admin",
        PASSWORD,
        "UTC",
    )
    .await
    .unwrap()
    .tenant
}

/// Stores on a connection of its own, returned to the pool right after
/// (the app's shutdown waits for every pooled connection).
async fn store(
    vault: &calbridge::server::platform::vault::Vault,
    pool: &sqlx::AnyPool,
    scope: &calbridge::server::platform::db::TenantScope,
    owner: Secret,
    value: &str,
) {
    let mut conn = pool.acquire().await.unwrap();
    vault.store(&mut conn, scope, &owner, value).await.unwrap();
}

/// The access token of connection number `n` (its id is the UUID `n`).
fn owner(n: u128) -> Secret {
    Secret::AccessToken(ConnectionId(uuid::Uuid::from_u128(n)))
}

/// The `owner_id` column of connection number `n`.
fn owner_id(n: u128) -> String {
    uuid::Uuid::from_u128(n).to_string()
}

async fn secrets_round_trip_and_are_encrypted_at_rest(backend: Backend) {
    let app = start_app!(backend);
    let t1 = tenant(&app, "one").await;
    let vault = &app.state.vault;
    let pool = app.state.db.pool();
    store(vault, pool, &t1, owner(1), SECRET).await;
    let loaded = vault.load(pool, &t1, &owner(1)).await.unwrap().unwrap();
    assert_eq!(loaded.expose(), SECRET);
    assert!(
        !format!("{loaded:?}").contains("secret"),
        "Debug hides the value"
    );

    // Storing again replaces the value (one row per owner and purpose).
    store(vault, pool, &t1, owner(1), "second").await;
    assert_eq!(
        vault
            .load(pool, &t1, &owner(1))
            .await
            .unwrap()
            .unwrap()
            .expose(),
        "second"
    );
    store(vault, pool, &t1, owner(1), SECRET).await;

    // The stored bytes never contain the plaintext.
    let rows = sqlx::query("SELECT ciphertext, nonce, key_id FROM secrets")
        .fetch_all(pool)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let ct: Vec<u8> = rows[0].get("ciphertext");
    assert!(!ct.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()));
    let nonce: Vec<u8> = rows[0].get("nonce");
    assert_eq!(nonce.len(), 12);
    if backend == Backend::Sqlite {
        app.state.db.close().await;
        for file in ["calbridge.db", "calbridge.db-wal"] {
            if let Ok(bytes) = std::fs::read(app.dir.path().join(file)) {
                assert!(
                    !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
                    "{file} holds plaintext"
                );
            }
        }
        return;
    }

    // Another tenant cannot read it, even knowing the owner id.
    let t2 = tenant(&app, "two").await;
    assert!(vault.load(pool, &t2, &owner(1)).await.unwrap().is_none());
    app.stop().await;
}

async fn ciphertext_copied_to_another_row_does_not_decrypt(backend: Backend) {
    let app = start_app!(backend);
    let t1 = tenant(&app, "one").await;
    let vault = &app.state.vault;
    let pool = app.state.db.pool();
    store(vault, pool, &t1, owner(1), SECRET).await;
    store(vault, pool, &t1, owner(2), "other").await;
    // An attacker with write access to the table swaps c1's ciphertext into c2.
    let (c1, c2) = (owner_id(1), owner_id(2));
    sqlx::query(&format!(
        "UPDATE secrets SET nonce = (SELECT nonce FROM secrets WHERE owner_id = '{c1}'), \
         ciphertext = (SELECT ciphertext FROM secrets WHERE owner_id = '{c1}'), \
         key_id = (SELECT key_id FROM secrets WHERE owner_id = '{c1}') WHERE owner_id = '{c2}'"
    ))
    .execute(pool)
    .await
    .unwrap();
    assert!(
        vault.load(pool, &t1, &owner(2)).await.is_err(),
        "AAD binds the ciphertext to its row"
    );
    // Tampered bytes fail too.
    sqlx::query(&format!(
        "UPDATE secrets SET ciphertext = nonce WHERE owner_id = '{}'",
        owner_id(1)
    ))
    .execute(pool)
    .await
    .unwrap();
    assert!(vault.load(pool, &t1, &owner(1)).await.is_err());
    app.stop().await;
}

async fn rotation_reencrypts_everything(backend: Backend) {
    let app = start_app!(backend);
    let vault = &app.state.vault;
    let pool = app.state.db.pool();
    let mut expected = Vec::new();
    for (n, t) in [(0u128, "one"), (1, "two")] {
        let scope = tenant(&app, t).await;
        for i in 0..5 {
            let id = n * 10 + i;
            let value = format!("token-{t}-{i}");
            store(vault, pool, &scope, owner(id), &value).await;
            expected.push((scope, id, value));
        }
    }
    let old_key: String = sqlx::query_scalar("SELECT id FROM vault_keys WHERE state = 'active'")
        .fetch_one(pool)
        .await
        .unwrap();

    let report = vault.rotate().await.unwrap();
    assert_eq!(report.reencrypted, 10);
    assert_eq!(report.keys_removed, 1);
    assert_ne!(report.new_key_id, old_key);
    let keys: Vec<String> = sqlx::query_scalar("SELECT DISTINCT key_id FROM secrets")
        .fetch_all(pool)
        .await
        .unwrap();
    assert_eq!(keys, vec![report.new_key_id.clone()]);
    for (scope, id, value) in &expected {
        assert_eq!(
            vault
                .load(pool, scope, &owner(*id))
                .await
                .unwrap()
                .unwrap()
                .expose(),
            value
        );
    }

    // A second process (a restarted server) opens the rotated vault with the same master key.
    let config = (*app.state.config).clone();
    let restarted = build_state(config, app.state.leptos_options.clone())
        .await
        .unwrap();
    let (scope, id, value) = &expected[3];
    assert_eq!(
        restarted
            .vault
            .load(restarted.db.pool(), scope, &owner(*id))
            .await
            .unwrap()
            .unwrap()
            .expose(),
        value
    );
    // …and a wrong master key is refused at start-up with a clear message.
    let mut wrong = (*app.state.config).clone();
    wrong.master_key = Some(calbridge::server::platform::config::MasterKeyInput(
        [7u8; 32],
    ));
    let err = build_state(wrong, app.state.leptos_options.clone())
        .await
        .err()
        .expect("wrong key refused");
    assert!(err.to_string().contains("CALBRIDGE_MASTER_KEY"), "{err}");
    app.stop().await;
}

async fn invite_links_are_vaulted_and_survive_rotation(backend: Backend) {
    let app = start_app!(backend);
    let admin = app.client();
    sign_up_first(&app, &admin, "ada@example.com").await;
    post_form(
        &admin,
        &app.url("/admin/users/invites"),
        &[("email", ""), ("role", "member")],
    )
    .await;
    let before = members(&app, &admin).await;
    let link = before["invites"][0]["link"].as_str().unwrap().to_owned();
    let token = link.split("invite=").nth(1).unwrap().to_owned();
    // Neither the invites table nor the secrets table holds the token.
    let pool = app.state.db.pool();
    for table in ["invites", "secrets"] {
        let rows = sqlx::query(&format!("SELECT * FROM {table}"))
            .fetch_all(pool)
            .await
            .unwrap();
        for row in rows {
            for i in 0..row.len() {
                let text: Option<String> = row.try_get::<Option<String>, _>(i).ok().flatten();
                let bytes: Option<Vec<u8>> = row.try_get::<Option<Vec<u8>>, _>(i).ok().flatten();
                assert!(
                    !text.unwrap_or_default().contains(&token),
                    "{table} column {i}"
                );
                let b = bytes.unwrap_or_default();
                assert!(
                    !b.windows(token.len()).any(|w| w == token.as_bytes()),
                    "{table} column {i}"
                );
            }
        }
    }
    app.state.vault.rotate().await.unwrap();
    let after = members(&app, &admin).await;
    assert_eq!(after["invites"][0]["link"], before["invites"][0]["link"]);
    app.stop().await;
}

on_both_backends!(
    secrets_round_trip_and_are_encrypted_at_rest,
    ciphertext_copied_to_another_row_does_not_decrypt,
    rotation_reencrypts_everything,
    invite_links_are_vaulted_and_survive_rotation,
);
