//! Accounts and membership: sign-up, login, sessions, invites, roles.
//! Handlers and server functions stay thin and call these.

use crate::model::AuditAction;
use crate::model::Flash;
use crate::model::{InviteId, InviteView, MemberView, MembersPage, Role, SignupMode, UserId};
use crate::server::audit::{self, Actor, Target};
use crate::server::auth::throttle::LoginThrottle;
use crate::server::auth::{passwords, AdminCaller, Caller};
use crate::server::booking;
use crate::server::connections::Connections;
use crate::server::error::{AppError, AppResult};
use crate::server::platform::config::Config;
use crate::server::platform::db::Db;
use crate::server::platform::db::{
    self, api_keys, invites, now_ms, sessions, tenants, users, DbError, TenantScope, UserScope,
};
use crate::server::platform::live::Live;
use crate::server::platform::vault::crypto::{random_token, token_hash};
use crate::server::platform::vault::Vault;
use crate::server::platform::vault::{Holder, Secret};
use crate::server::validate::{check_time_zone, normalize_email, one_line_name};
use std::sync::Arc;

/// What accounts, sessions and invites use.
#[derive(Clone)]
pub struct Accounts {
    pub db: Db,
    pub vault: Arc<Vault>,
    pub config: Arc<Config>,
    pub throttle: Arc<LoginThrottle>,
    /// Failed sign-ups per client address.
    pub signup_throttle: Arc<LoginThrottle>,
    pub live: Arc<Live>,
    /// Removing a member disconnects their calendars.
    pub connections: Connections,
}

const INVITE_TTL_MS: i64 = 7 * 24 * 3600 * 1000;

fn check_len(value: &str, flash: Flash) -> AppResult<String> {
    one_line_name(value, 100)
        .map(str::to_owned)
        .ok_or(AppError::Invalid(flash))
}

/// A session token for the browser, and when it ends.
pub struct NewSession {
    pub token: String,
    pub max_age_secs: i64,
}

pub struct SignupForm {
    pub tenant_name: Option<String>,
    pub name: String,
    pub email: String,
    pub password: String,
    pub time_zone: String,
    pub invite: Option<String>,
}

pub async fn signup_mode(ctx: &Accounts, invite: Option<&str>) -> AppResult<SignupMode> {
    if let Some(token) = invite.filter(|t| !t.is_empty()) {
        let open =
            invites::find_open_by_token_hash(ctx.db.pool(), &token_hash(token), db::now_ms())
                .await?;
        return Ok(match open {
            Some(i) => SignupMode::Invite {
                tenant_name: i.tenant_name,
                email: i.email,
            },
            None => SignupMode::InviteInvalid,
        });
    }
    Ok(if tenants::count(ctx.db.pool()).await? == 0 {
        SignupMode::FirstAccount
    } else {
        SignupMode::Closed
    })
}

/// Creates an account: the tenant and its admin on an empty instance, or a
/// member through an invite. Returns a fresh session.
///
/// Everything that can refuse the request is checked before argon2 runs,
/// and failed sign-ups per client address are throttled like logins, so
/// sign-up cannot be used to burn the server's CPU.
#[tracing::instrument(skip_all)]
pub async fn sign_up(
    ctx: &Accounts,
    form: SignupForm,
    client: Option<&str>,
) -> AppResult<NewSession> {
    let email = normalize_email(&form.email)?;
    let name = check_len(&form.name, Flash::InvalidName)?;
    let time_zone = check_time_zone(&form.time_zone)?;
    passwords::check_policy(&form.password)?;
    let client_key = format!("signup-ip:{}", client.unwrap_or("unknown"));
    if !ctx.signup_throttle.try_attempt(&[&client_key]) {
        return Err(AppError::RateLimited);
    }
    let result = create_account(ctx, form, email, name, time_zone).await;
    if result.is_ok() {
        ctx.signup_throttle.succeeded(&[&client_key]);
    }
    result
}

async fn create_account(
    ctx: &Accounts,
    form: SignupForm,
    email: String,
    name: String,
    time_zone: String,
) -> AppResult<NewSession> {
    let invite_token = form.invite.as_deref().filter(|t| !t.is_empty());
    // A cheap read first; the transaction below checks again under its lock.
    let mut tenant_name = String::new();
    match invite_token {
        Some(token) => {
            let invite =
                invites::find_open_by_token_hash(ctx.db.pool(), &token_hash(token), db::now_ms())
                    .await?
                    .ok_or(AppError::Invalid(Flash::InviteInvalid))?;
            if invite.email.as_deref().is_some_and(|e| e != email) {
                return Err(AppError::Invalid(Flash::EmailMismatch));
            }
        }
        None => {
            tenant_name = check_len(
                form.tenant_name.as_deref().unwrap_or(""),
                Flash::InvalidTenantName,
            )?;
            if tenants::count(ctx.db.pool()).await? > 0 {
                return Err(AppError::Invalid(Flash::SignupClosed));
            }
        }
    }
    let password_hash = passwords::hash(&form.password).await?;

    let mut tx = ctx.db.begin_write().await?;
    let owner = match invite_token {
        Some(token) => {
            let invite =
                invites::find_open_by_token_hash(&mut *tx, &token_hash(token), db::now_ms())
                    .await?
                    .ok_or(AppError::Invalid(Flash::InviteInvalid))?;
            if invite.email.as_deref().is_some_and(|e| e != email) {
                return Err(AppError::Invalid(Flash::EmailMismatch));
            }
            let user_id = users::insert(
                &mut *tx,
                &invite.tenant,
                users::NewUser {
                    email: &email,
                    name: &name,
                    password_hash: &password_hash,
                    role: invite.role,
                    time_zone: &time_zone,
                },
            )
            .await?;
            invites::accept(&mut *tx, &invite.tenant, invite.id, user_id)
                .await
                .map_err(|e| match e {
                    DbError::NotFound => AppError::Invalid(Flash::InviteInvalid),
                    other => other.into(),
                })?;
            ctx.vault
                .forget_all(&mut *tx, &invite.tenant, &Holder::Invite(invite.id))
                .await?;
            UserScope::new(invite.tenant, user_id)
        }
        None => {
            tenants::lock_for_first_signup(&mut tx).await?;
            if tenants::count(&mut *tx).await? > 0 {
                return Err(AppError::Invalid(Flash::SignupClosed));
            }
            let tenant = tenants::insert(&mut *tx, &tenant_name).await?;
            let user_id = users::insert(
                &mut *tx,
                &tenant,
                users::NewUser {
                    email: &email,
                    name: &name,
                    password_hash: &password_hash,
                    role: Role::Admin,
                    time_zone: &time_zone,
                },
            )
            .await?;
            UserScope::new(tenant, user_id)
        }
    };
    let session = start_session(ctx, &mut tx, &owner).await?;
    tx.commit().await.map_err(DbError::from)?;
    tracing::info!(tenant = %owner.tenant.tenant_id(), user = %owner.user_id(), "account created");
    Ok(session)
}

async fn start_session(
    ctx: &Accounts,
    tx: &mut db::Tx,
    owner: &UserScope,
) -> AppResult<NewSession> {
    let token = random_token();
    let ttl_ms = ctx.config.session_ttl.as_millis() as i64;
    sessions::insert(&mut **tx, &token_hash(&token), owner, db::now_ms() + ttl_ms).await?;
    Ok(NewSession {
        token,
        max_age_secs: ttl_ms / 1000,
    })
}

/// Checks the password and opens a new session, ending the one the browser
/// had (session rotation). Wrong password and unknown email are one error.
#[tracing::instrument(skip_all)]
pub async fn log_in(
    ctx: &Accounts,
    email: &str,
    password: &str,
    client: Option<&str>,
    previous_session: Option<&str>,
) -> AppResult<NewSession> {
    let email = email.trim().to_lowercase();
    if !passwords::plausible_login(&email, password) {
        return Err(AppError::Invalid(Flash::InvalidCredentials));
    }
    let client_key = client.map(|c| format!("ip:{c}"));
    let keys: Vec<&str> = std::iter::once(email.as_str())
        .chain(client_key.as_deref())
        .collect();
    // Check and count in one step: concurrent guesses cannot all slip
    // through before the first failure is recorded.
    if !ctx.throttle.try_attempt(&keys) {
        return Err(AppError::RateLimited);
    }
    let candidates = users::login_candidates(ctx.db.pool(), &email).await?;
    let mut matched = None;
    if candidates.is_empty() {
        passwords::verify_dummy(password).await;
    }
    for user in candidates {
        if passwords::verify(password, &user.password_hash).await? {
            matched = Some(user);
            break;
        }
    }
    let Some(user) = matched else {
        tracing::info!("login failed");
        return Err(AppError::Invalid(Flash::InvalidCredentials));
    };
    ctx.throttle.succeeded(&keys);
    ctx.throttle.clear(&email);
    let mut tx = ctx.db.begin_write().await?;
    if let Some(old) = previous_session {
        sessions::delete(&mut *tx, &token_hash(old)).await?;
    }
    let owner = UserScope::new(user.tenant, user.id);
    let session = start_session(ctx, &mut tx, &owner).await?;
    tx.commit().await.map_err(DbError::from)?;
    tracing::info!(tenant = %owner.tenant.tenant_id(), user = %owner.user_id(), "logged in");
    Ok(session)
}

/// Ends the session, and with it that browser's live stream.
pub async fn log_out(ctx: &Accounts, session_token: &str) -> AppResult<()> {
    let hash = token_hash(session_token);
    let owner = sessions::find_owner(ctx.db.pool(), &hash, db::now_ms()).await?;
    sessions::delete(ctx.db.pool(), &hash).await?;
    if let Some(owner) = owner {
        ctx.live
            .end_session(&ctx.db, owner.user.user_id(), &hash)
            .await;
    }
    Ok(())
}

pub async fn update_profile(
    ctx: &Accounts,
    caller: &Caller,
    name: &str,
    time_zone: &str,
) -> AppResult<()> {
    let name = check_len(name, Flash::InvalidName)?;
    let time_zone = check_time_zone(time_zone)?;
    users::set_profile(
        ctx.db.pool(),
        caller.scope(),
        caller.user.user_id(),
        &name,
        &time_zone,
    )
    .await?;
    Ok(())
}

pub async fn members_page(ctx: &Accounts, admin: &AdminCaller) -> AppResult<MembersPage> {
    let scope = admin.0.scope();
    let members = users::list(ctx.db.pool(), scope)
        .await?
        .into_iter()
        .map(|u| MemberView {
            id: u.id,
            email: u.email,
            name: u.name,
            role: u.role,
            time_zone: u.time_zone,
            joined_at: db::ms_to_rfc3339(u.created_at),
        })
        .collect();
    let mut invite_views = Vec::new();
    for invite in invites::list_pending(ctx.db.pool(), scope, db::now_ms()).await? {
        let Some(token) = ctx
            .vault
            .load(ctx.db.pool(), scope, &Secret::InviteLink(invite.id))
            .await?
        else {
            continue;
        };
        invite_views.push(InviteView {
            id: invite.id,
            email: invite.email,
            role: invite.role,
            link: invite_link(ctx, token.expose()),
            invited_by: invite.invited_by,
            expires_at: db::ms_to_rfc3339(invite.expires_at),
        });
    }
    Ok(MembersPage {
        me: admin.0.user.user_id(),
        members,
        invites: invite_views,
    })
}

fn invite_link(ctx: &Accounts, token: &str) -> String {
    ctx.config.public_link(&format!("/signup?invite={token}"))
}

/// Creates an invite and returns its link.
pub async fn create_invite(
    ctx: &Accounts,
    admin: &AdminCaller,
    email: Option<&str>,
    role: Role,
) -> AppResult<String> {
    let email = email
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(normalize_email)
        .transpose()?;
    let scope = admin.0.scope();
    let token = random_token();
    let id = InviteId::generate();
    let mut tx = ctx.db.begin_write().await?;
    invites::insert(
        &mut *tx,
        scope,
        invites::NewInvite {
            id,
            token_hash: &token_hash(&token),
            email: email.as_deref(),
            role,
            created_by: admin.0.user.user_id(),
            expires_at: db::now_ms() + INVITE_TTL_MS,
        },
    )
    .await?;
    ctx.vault
        .store(&mut tx, scope, &Secret::InviteLink(id), &token)
        .await?;
    let invited = email.as_deref().unwrap_or("anyone with the link");
    audit::record(
        &mut *tx,
        scope,
        Actor::of(&admin.0),
        AuditAction::MemberInvited,
        Target::named(&id.to_string(), invited),
        &format!("as {}", role.as_str()),
    )
    .await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(invite_link(ctx, &token))
}

pub async fn revoke_invite(ctx: &Accounts, admin: &AdminCaller, id: InviteId) -> AppResult<()> {
    let scope = admin.0.scope();
    let mut tx = ctx.db.begin_write().await?;
    invites::revoke(&mut *tx, scope, id).await?;
    ctx.vault
        .forget_all(&mut *tx, scope, &Holder::Invite(id))
        .await?;
    audit::record(
        &mut *tx,
        scope,
        Actor::of(&admin.0),
        AuditAction::InviteRevoked,
        Target::named(&id.to_string(), "invite link"),
        "",
    )
    .await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(())
}

/// Sets `user`'s role. An admin made a member loses the API keys they
/// created, in the same transaction: what it says, and whether any were.
pub async fn change_role(
    ctx: &Accounts,
    admin: &AdminCaller,
    user: UserId,
    role: Role,
) -> AppResult<KeysRevoked> {
    let scope = admin.0.scope();
    let mut tx = ctx.db.begin_write().await?;
    let target = users::get(&mut *tx, scope, user).await?;
    if target.role == Role::Admin
        && role == Role::Member
        && users::count_admins(&mut *tx, scope).await? <= 1
    {
        return Err(AppError::Invalid(Flash::LastAdmin));
    }
    users::set_role(&mut *tx, scope, user, role).await?;
    let revoked = match role {
        Role::Member => api_keys::revoke_created_by(&mut *tx, scope, user, now_ms()).await?,
        Role::Admin => 0,
    };
    audit::record(
        &mut *tx,
        scope,
        Actor::of(&admin.0),
        AuditAction::RoleChanged,
        Target::named(&user.to_string(), &target.email),
        &role_detail(target.role, role, revoked),
    )
    .await?;
    tx.commit().await.map_err(DbError::from)?;
    if revoked > 0 {
        tracing::info!(user = %user, revoked, "API keys of a demoted admin revoked");
    }
    Ok(KeysRevoked(revoked))
}

fn keys_revoked_detail(revoked: u64) -> String {
    match revoked {
        0 => String::new(),
        1 => "the API key they created was revoked".to_owned(),
        n => format!("the {n} API keys they created were revoked"),
    }
}

fn role_detail(from: Role, to: Role, revoked: u64) -> String {
    let change = format!("{} → {}", from.as_str(), to.as_str());
    match keys_revoked_detail(revoked) {
        keys if keys.is_empty() => change,
        keys => format!("{change}; {keys}"),
    }
}

/// How many API keys a change of role or a removal revoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeysRevoked(pub u64);

#[tracing::instrument(skip_all, fields(tenant = %admin.0.scope().tenant_id(), member = %user))]
pub async fn remove_member(
    ctx: &Accounts,
    admin: &AdminCaller,
    user: UserId,
) -> AppResult<KeysRevoked> {
    if user == admin.0.user.user_id() {
        return Err(AppError::Invalid(Flash::NotYourself));
    }
    let scope = admin.0.scope();
    let removed = users::get(ctx.db.pool(), scope, user).await?;
    let member = UserScope::new(*scope, user);
    // Their calendars are disconnected the normal way first, while they
    // still exist: subscriptions deleted and tokens revoked at the provider.
    let connections =
        crate::server::connections::disconnect_all(&ctx.connections, Actor::of(&admin.0), &member)
            .await?;
    let mut tx = ctx.db.begin_write().await?;
    for connection in connections {
        db::jobs::drop_queued_for_connection(&mut *tx, scope, connection).await?;
    }
    sessions::delete_for_user(&mut *tx, scope, user).await?;
    let revoked = api_keys::revoke_created_by(&mut *tx, scope, user, now_ms()).await?;
    audit::record(
        &mut *tx,
        scope,
        Actor::of(&admin.0),
        AuditAction::MemberRemoved,
        Target::named(&user.to_string(), &removed.email),
        &keys_revoked_detail(revoked),
    )
    .await?;
    users::delete(&mut *tx, scope, user).await?;
    tx.commit().await.map_err(DbError::from)?;
    ctx.live.end_user(&ctx.db, user).await;
    tracing::info!(user = %user, revoked_keys = revoked, "member removed");
    Ok(KeysRevoked(revoked))
}

/// Operator command: an admin in the named tenant, creating the tenant when
/// none has that name.
pub async fn create_admin(
    ctx: &Accounts,
    tenant_name: &str,
    email: &str,
    name: &str,
    password: &str,
    time_zone: &str,
) -> AppResult<UserScope> {
    let email = normalize_email(email)?;
    let tenant_name = check_len(tenant_name, Flash::InvalidTenantName)?;
    let name = check_len(name, Flash::InvalidName)?;
    let time_zone = check_time_zone(time_zone)?;
    passwords::check_policy(password)?;
    let password_hash = passwords::hash(password).await?;
    let mut tx = ctx.db.begin_write().await?;
    let tenant: TenantScope = match tenants::find_by_name(&mut *tx, &tenant_name).await? {
        Some(t) => t,
        None => tenants::insert(&mut *tx, &tenant_name).await?,
    };
    let user_id = users::insert(
        &mut *tx,
        &tenant,
        users::NewUser {
            email: &email,
            name: &name,
            password_hash: &password_hash,
            role: Role::Admin,
            time_zone: &time_zone,
        },
    )
    .await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(UserScope::new(tenant, user_id))
}

/// A demo tenant made just now.
pub struct DemoSeed {
    /// The demo accounts' password.
    pub password: String,
    /// Made up here (not `CALBRIDGE_DEMO_PASSWORD`): shown once.
    pub generated: bool,
}

/// Dev convenience: on an empty instance, a demo tenant with an admin and two
/// members who share one password; `None` when the instance has a tenant.
pub async fn seed_demo(ctx: &Accounts, password: Option<&str>) -> AppResult<Option<DemoSeed>> {
    if tenants::count(ctx.db.pool()).await? > 0 {
        return Ok(None);
    }
    let generated = password.is_none().then(|| random_token()[..16].to_owned());
    let password = password.or(generated.as_deref()).unwrap_or_default();
    passwords::check_policy(password)?;
    let password_hash = passwords::hash(password).await?;
    let mut tx = ctx.db.begin_write().await?;
    let tenant = tenants::insert(&mut *tx, "Demo").await?;
    let mut members = Vec::new();
    for (email, name, role, time_zone) in [
        (
            "admin@demo.test",
            "Demo Admin",
            Role::Admin,
            "Europe/Berlin",
        ),
        (
            "alice@demo.test",
            "Alice Example",
            Role::Member,
            "Europe/Berlin",
        ),
        (
            "bob@demo.test",
            "Bob Example",
            Role::Member,
            "America/New_York",
        ),
    ] {
        let id = users::insert(
            &mut *tx,
            &tenant,
            users::NewUser {
                email,
                name,
                password_hash: &password_hash,
                role,
                time_zone,
            },
        )
        .await?;
        members.push(UserScope::new(tenant, id));
    }
    if let [_, alice, bob] = &members[..] {
        booking::profiles::seed_demo_hosts(&mut tx, alice, bob).await?;
    }
    tx.commit().await.map_err(DbError::from)?;
    Ok(Some(DemoSeed {
        password: password.to_owned(),
        generated: generated.is_some(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_bounded() {
        assert!(check_len("", Flash::InvalidName).is_err());
        assert!(check_len(&"x".repeat(101), Flash::InvalidName).is_err());
        assert_eq!(check_len("  Ann ", Flash::InvalidName).unwrap(), "Ann");
    }
}
