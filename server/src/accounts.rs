//! Users, devices and login tokens.
//!
//! Passwords are argon2id hashes (PHC strings); hashing is slow on purpose, so async callers
//! run [`hash_password`] and [`verify_password`] on `spawn_blocking`. Tokens are 32 random
//! bytes handed out once as hex and stored only as their SHA-256. Every function takes a
//! `&dyn Sql` (a read snapshot or a write transaction, on either engine) so the HTTP API and
//! the CLI share them and batch them with their audit rows.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::Rng;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sync_core::model::{DisplayNameError, Role, catalog, clean_display_name};
use uuid::Uuid;

use crate::db::{DbError, Row, Sql};

/// What can go wrong managing accounts.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// A user with this name exists.
    #[error("a user with this name already exists")]
    UserExists,
    /// No such user.
    #[error("no such user")]
    NoSuchUser,
    /// No such device.
    #[error("no such device")]
    NoSuchDevice,
    /// The user name has characters outside `a-z 0-9 . _ -` or the wrong length.
    #[error("a user name is 1 to 64 characters of a-z, 0-9, `.`, `_` or `-`")]
    BadUsername,
    /// A password shorter than 8 characters.
    #[error("a password has at least 8 characters")]
    WeakPassword,
    /// A unit code that is not a current admin unit.
    #[error("`{0}` is not a current admin-unit code")]
    UnknownUnit(String),
    /// A display name that is empty, too long or holds control characters.
    #[error(transparent)]
    BadDisplayName(#[from] DisplayNameError),
    /// The device is registered to another user.
    #[error("this device is registered to another user")]
    DeviceOfAnotherUser,
    /// The actor id is registered to another device.
    #[error("this actor id is registered to another device")]
    ActorTaken,
    /// The device was revoked.
    #[error("this device was revoked")]
    DeviceRevoked,
    /// Storage failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Hashing failed.
    #[error("password hashing failed")]
    Hash,
}

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Row id.
    #[serde(skip)]
    pub id: i64,
    /// Login name.
    pub username: String,
    /// The name people read for the user ("Nguyễn Thị Lan"): NFC, cleaned
    /// ([`clean_display_name`]); `None` when the office set none ([`User::shown_name`]).
    pub display_name: Option<String>,
    /// Role.
    pub role: Role,
    /// Assigned admin units (admins see every unit whatever is listed here).
    pub units: Vec<String>,
    /// Disabled users cannot log in and their tokens are gone.
    pub disabled: bool,
    /// Legacy per-account failure counter (schema version 1): lockouts are now counted per
    /// name and client address in `login_attempts` ([`take_attempt`]); 0 for new databases.
    pub failed_logins: u32,
    /// Legacy per-account lock (ms since the Unix epoch); see [`locked_anywhere`].
    pub locked_until_ms: i64,
    /// Created at (ms).
    pub created_ms: i64,
    #[serde(skip)]
    password_hash: String,
}

impl User {
    /// The units this user may read and write: every current unit for admins.
    pub fn scopes(&self) -> Vec<String> {
        scopes_of(self.role, &self.units)
    }

    /// Whether the account is locked at `now_ms`.
    pub fn is_locked(&self, now_ms: i64) -> bool {
        self.locked_until_ms > now_ms
    }

    /// The stored argon2id hash.
    pub fn password_hash(&self) -> &str {
        &self.password_hash
    }

    /// The name to show for the user: the display name, or the account name without one.
    pub fn shown_name(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.username)
    }
}

/// The units a role with assigned `units` may read and write.
pub fn scopes_of(role: Role, units: &[String]) -> Vec<String> {
    if role == Role::Admin {
        let mut all: Vec<String> = catalog()
            .current_units()
            .into_iter()
            .map(|u| u.code.clone())
            .collect();
        all.sort();
        all.dedup();
        all
    } else {
        let mut u = units.to_vec();
        u.sort();
        u.dedup();
        u
    }
}

/// A registered device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Device {
    /// Device id (UUID).
    pub id: Uuid,
    /// Its user's name.
    pub user: String,
    /// Hex of its Automerge actor id.
    pub actor: String,
    /// Name given at login.
    pub name: String,
    /// Revoked devices cannot sync.
    pub revoked: bool,
    /// A wipe order is waiting for the device's next sync.
    pub wipe_pending: bool,
    /// The device status last reported (JSON).
    pub status: serde_json::Value,
    /// Registered at (ms).
    pub created_ms: i64,
    /// Last sync (ms), 0 if never.
    pub last_seen_ms: i64,
}

/// When repeated failures lock an account.
#[derive(Debug, Clone, Copy)]
pub struct LockoutPolicy {
    /// Failures in a row that lock.
    pub attempts: u32,
    /// How long, in ms.
    pub duration_ms: i64,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        LockoutPolicy {
            attempts: 5,
            duration_ms: 15 * 60 * 1000,
        }
    }
}

/// Hashes a password with argon2id and a random salt. Slow: call off the async runtime.
pub fn hash_password(password: &str) -> Result<String, AccountError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| AccountError::Hash)
}

/// Checks a password against a stored hash. Slow: call off the async runtime.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash of a random password, for comparing against when the user does not exist (so that
/// unknown and known names take the same time).
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| hash_password(&random_password()).unwrap_or_default());
    &DUMMY
}

/// A random 20-character password (no look-alike characters).
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    (0..20)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Checks a new password's strength.
pub fn check_password(password: &str) -> Result<(), AccountError> {
    if password.chars().count() < 8 {
        return Err(AccountError::WeakPassword);
    }
    Ok(())
}

fn check_username(name: &str) -> Result<(), AccountError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b".-_".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(AccountError::BadUsername)
    }
}

/// Checks that every unit is a current admin unit; returns them sorted without duplicates.
pub fn check_units(units: &[String]) -> Result<Vec<String>, AccountError> {
    let mut out = Vec::new();
    for u in units {
        let u = u.trim();
        if !catalog().is_served(u) {
            return Err(AccountError::UnknownUnit(u.chars().take(16).collect()));
        }
        out.push(u.to_owned());
    }
    out.sort();
    out.dedup();
    Ok(out)
}

const USER_COLUMNS: &str = "id, username, role, units, disabled, failed_logins, locked_until_ms, created_ms, password_hash, display_name";

fn user_from_row(r: &Row) -> Result<User, DbError> {
    let role: String = r.get(2)?;
    let units: String = r.get(3)?;
    Ok(User {
        id: r.get(0)?,
        username: r.get(1)?,
        role: Role::parse(&role).unwrap_or(Role::Officer),
        units: serde_json::from_str(&units).unwrap_or_default(),
        disabled: r.get(4)?,
        failed_logins: r.get::<i64>(5)?.max(0) as u32,
        locked_until_ms: r.get(6)?,
        created_ms: r.get(7)?,
        password_hash: r.get(8)?,
        display_name: r.get(9)?,
    })
}

/// The user with this name.
pub fn get_user(tx: &dyn Sql, username: &str) -> Result<Option<User>, AccountError> {
    let row = tx.query_opt(
        &format!("SELECT {USER_COLUMNS} FROM users WHERE username = ?1"),
        &[&username],
    )?;
    Ok(row.as_ref().map(user_from_row).transpose()?)
}

/// The user with this name, its row locked for the rest of the transaction on PostgreSQL
/// (read-modify-write of the account by several nodes at once).
fn get_user_locked(tx: &dyn Sql, username: &str) -> Result<Option<User>, AccountError> {
    let row = tx.query_opt(
        &format!(
            "SELECT {USER_COLUMNS} FROM users WHERE username = ?1{}",
            tx.for_update()
        ),
        &[&username],
    )?;
    Ok(row.as_ref().map(user_from_row).transpose()?)
}

/// Every user, by name.
pub fn list_users(tx: &dyn Sql) -> Result<Vec<User>, AccountError> {
    let rows = tx.query(
        &format!("SELECT {USER_COLUMNS} FROM users ORDER BY username"),
        &[],
    )?;
    Ok(rows.iter().map(user_from_row).collect::<Result<_, _>>()?)
}

/// Whether any user exists.
pub fn any_user(tx: &dyn Sql) -> Result<bool, AccountError> {
    Ok(tx.query_value("SELECT EXISTS (SELECT 1 FROM users)", &[])?)
}

/// Adds a user with an already computed password hash.
pub fn add_user(
    tx: &dyn Sql,
    username: &str,
    password_hash: &str,
    role: Role,
    units: &[String],
    now_ms: i64,
) -> Result<User, AccountError> {
    check_username(username)?;
    let units = check_units(units)?;
    if get_user(tx, username)?.is_some() {
        return Err(AccountError::UserExists);
    }
    let units = serde_json::to_string(&units).unwrap_or_else(|_| "[]".into());
    // Another node may add the same name between the check and the insert: the unique
    // constraint decides, in a savepoint so that the caller's transaction goes on.
    let inserted = tx.savepoint("add_user", || {
        tx.execute(
            "INSERT INTO users (username, password_hash, role, units, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            &[&username, &password_hash, &role.as_str(), &units, &now_ms],
        )
    });
    match inserted {
        Err(e) if e.is_unique_violation() => return Err(AccountError::UserExists),
        other => other?,
    };
    get_user(tx, username)?.ok_or(AccountError::NoSuchUser)
}

/// Sets (`Some`) or clears (`None`) a user's display name, stored cleaned
/// ([`clean_display_name`]: NFC, whitespace collapsed; refused when empty after cleaning,
/// longer than 100 characters or holding control characters). Phones learn the new name with
/// the next record of the user's they receive (the actor directory) or at the user's next
/// login; sessions go on.
pub fn set_display_name(
    tx: &dyn Sql,
    username: &str,
    display_name: Option<&str>,
) -> Result<User, AccountError> {
    let cleaned = display_name.map(clean_display_name).transpose()?;
    let user = get_user_locked(tx, username)?.ok_or(AccountError::NoSuchUser)?;
    tx.execute(
        "UPDATE users SET display_name = ?1 WHERE id = ?2",
        &[&cleaned, &user.id],
    )?;
    get_user(tx, username)?.ok_or(AccountError::NoSuchUser)
}

/// Sets a user's password hash, clears a lockout and ends every session of the user.
pub fn set_password(tx: &dyn Sql, username: &str, password_hash: &str) -> Result<(), AccountError> {
    let user = get_user_locked(tx, username)?.ok_or(AccountError::NoSuchUser)?;
    tx.execute(
        "UPDATE users SET password_hash = ?1, failed_logins = 0, locked_until_ms = 0 WHERE id = ?2",
        &[&password_hash, &user.id],
    )?;
    tx.execute(
        "DELETE FROM login_attempts WHERE username = ?1",
        &[&user.username],
    )?;
    end_sessions(tx, user.id)?;
    Ok(())
}

/// Ends every device token and console session of a user.
///
/// Device tokens are marked ended rather than deleted: an ended token no longer
/// authenticates anything, except that a device with a pending wipe order (revoked before
/// or after this) is still told to wipe when it presents it (see [`lookup_token`]).
pub fn end_sessions(tx: &dyn Sql, user_id: i64) -> Result<(), AccountError> {
    tx.execute(
        "UPDATE tokens SET ended = TRUE WHERE user_id = ?1",
        &[&user_id],
    )?;
    end_console_sessions(tx, user_id)?;
    Ok(())
}

/// Ends every console session of a user (password, role, units or enabled state changed).
pub fn end_console_sessions(tx: &dyn Sql, user_id: i64) -> Result<(), AccountError> {
    tx.execute(
        "DELETE FROM console_sessions WHERE user_id = ?1",
        &[&user_id],
    )?;
    Ok(())
}

/// Replaces a user's units (and optionally role). Devices learn on their next sync: scopes
/// they hold but the user lost are purged.
pub fn set_units(
    tx: &dyn Sql,
    username: &str,
    units: &[String],
    role: Option<Role>,
) -> Result<User, AccountError> {
    let user = get_user_locked(tx, username)?.ok_or(AccountError::NoSuchUser)?;
    let units = check_units(units)?;
    tx.execute(
        "UPDATE users SET units = ?1, role = ?2 WHERE id = ?3",
        &[
            &serde_json::to_string(&units).unwrap_or_else(|_| "[]".into()),
            &role.unwrap_or(user.role).as_str(),
            &user.id,
        ],
    )?;
    let updated = get_user(tx, username)?.ok_or(AccountError::NoSuchUser)?;
    // A console session carries what the user could do when it began.
    if updated.role != user.role || updated.units != user.units {
        end_console_sessions(tx, user.id)?;
    }
    Ok(updated)
}

/// Disables (ending every session) or re-enables a user. Sessions ended by disabling stay
/// ended when the user is enabled again.
pub fn set_disabled(tx: &dyn Sql, username: &str, disabled: bool) -> Result<(), AccountError> {
    let user = get_user_locked(tx, username)?.ok_or(AccountError::NoSuchUser)?;
    tx.execute(
        "UPDATE users SET disabled = ?1, failed_logins = 0, locked_until_ms = 0 WHERE id = ?2",
        &[&disabled, &user.id],
    )?;
    tx.execute(
        "DELETE FROM login_attempts WHERE username = ?1",
        &[&user.username],
    )?;
    end_sessions(tx, user.id)?;
    Ok(())
}

/// Whether a login attempt may have its password checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Go ahead; `last` when this attempt used the last one before the lock.
    Granted {
        /// This attempt locked the name for the client address (its outcome still counts).
        last: bool,
    },
    /// Refused without checking: locked until this time (ms).
    Locked {
        /// When the lock ends.
        until_ms: i64,
    },
}

/// Takes one login attempt for `username` from `address`, *before* the password is checked,
/// so that parallel guesses cannot all be checked against one count.
///
/// Attempts are counted per (name, client address), for names that exist and names that do
/// not alike (so a lock reveals nothing): `policy.attempts` attempts without a success lock
/// that pair for `policy.duration_ms`, and other addresses are not affected. A success
/// ([`attempt_succeeded`]) clears the count. Counts idle for longer than the lock duration
/// are forgotten.
///
/// The count lives in the database, so every node sees the same count: on PostgreSQL the
/// pair's row is created first (`ON CONFLICT DO NOTHING`) and then read locked, so parallel
/// guesses through several nodes take their attempts one after the other.
pub fn take_attempt(
    tx: &dyn Sql,
    username: &str,
    address: &str,
    now_ms: i64,
    policy: LockoutPolicy,
) -> Result<Attempt, AccountError> {
    tx.execute(
        "DELETE FROM login_attempts WHERE updated_ms < ?1 AND locked_until_ms <= ?2",
        &[&now_ms.saturating_sub(policy.duration_ms), &now_ms],
    )?;
    tx.execute(
        "INSERT INTO login_attempts (username, address, failures, locked_until_ms, updated_ms)
         VALUES (?1, ?2, 0, 0, ?3)
         ON CONFLICT (username, address) DO NOTHING",
        &[&username, &address, &now_ms],
    )?;
    let row = tx.query_one(
        &format!(
            "SELECT failures, locked_until_ms FROM login_attempts
             WHERE username = ?1 AND address = ?2{}",
            tx.for_update()
        ),
        &[&username, &address],
    )?;
    let (failures, locked_until): (i64, i64) = (row.get(0)?, row.get(1)?);
    if locked_until > now_ms {
        return Ok(Attempt::Locked {
            until_ms: locked_until,
        });
    }
    // A lock that ran out starts a fresh count.
    let failures = if locked_until != 0 { 0 } else { failures } + 1;
    let last = failures >= i64::from(policy.attempts.max(1));
    let lock = if last {
        now_ms.saturating_add(policy.duration_ms)
    } else {
        0
    };
    tx.execute(
        "UPDATE login_attempts SET failures = ?3, locked_until_ms = ?4, updated_ms = ?5
         WHERE username = ?1 AND address = ?2",
        &[&username, &address, &failures, &lock, &now_ms],
    )?;
    Ok(Attempt::Granted { last })
}

/// Clears the attempts of `username` from `address` after a successful login.
pub fn attempt_succeeded(tx: &dyn Sql, username: &str, address: &str) -> Result<(), AccountError> {
    tx.execute(
        "DELETE FROM login_attempts WHERE username = ?1 AND address = ?2",
        &[&username, &address],
    )?;
    Ok(())
}

/// Whether `username` is locked for any client address at `now_ms` (for `ferry user list`).
pub fn locked_anywhere(tx: &dyn Sql, username: &str, now_ms: i64) -> Result<bool, AccountError> {
    Ok(tx.query_value(
        "SELECT EXISTS (SELECT 1 FROM login_attempts WHERE username = ?1 AND locked_until_ms > ?2)",
        &[&username, &now_ms],
    )?)
}

/// Registers (or refreshes) a device for a user at login.
///
/// A device belongs to one user; an actor id to one device; a revoked device stays revoked.
/// A device of the same user may come back with a new actor id (a reinstalled app).
pub fn register_device(
    tx: &dyn Sql,
    user_id: i64,
    device_id: Uuid,
    actor_hex: &str,
    name: &str,
    now_ms: i64,
) -> Result<(), AccountError> {
    let existing = tx.query_opt(
        &format!(
            "SELECT user_id, revoked FROM devices WHERE id = ?1{}",
            tx.for_update()
        ),
        &[&device_id],
    )?;
    let existing: Option<(i64, bool)> = existing
        .map(|r| Ok::<_, DbError>((r.get(0)?, r.get(1)?)))
        .transpose()?;
    // Every actor id ever registered stays with its device: changes it wrote are attributed
    // by actor, so an id a device gave up (a reinstall) or a revoked device's id is never
    // handed to another device.
    let actor_owner: Option<String> = tx
        .query_opt(
            "SELECT device_id FROM actor_ids WHERE actor = ?1
             UNION ALL SELECT id FROM devices WHERE actor = ?1 LIMIT 1",
            &[&actor_hex],
        )?
        .map(|r| r.get(0))
        .transpose()?;
    if actor_owner.is_some_and(|d| d != device_id.to_string()) {
        return Err(AccountError::ActorTaken);
    }
    let written = tx.savepoint("register_device", || {
        match existing {
            Some((owner, _)) if owner != user_id => {
                return Err(AccountError::DeviceOfAnotherUser);
            }
            Some((_, true)) => return Err(AccountError::DeviceRevoked),
            Some(_) => {
                tx.execute(
                    "UPDATE devices SET actor = ?1, name = ?2 WHERE id = ?3",
                    &[&actor_hex, &name, &device_id],
                )?;
            }
            None => {
                tx.execute(
                    "INSERT INTO devices (id, user_id, actor, name, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                    &[&device_id, &user_id, &actor_hex, &name, &now_ms],
                )?;
            }
        }
        tx.execute(
            "INSERT INTO actor_ids (actor, device_id) VALUES (?1, ?2)
             ON CONFLICT (actor) DO NOTHING",
            &[&actor_hex, &device_id],
        )?;
        Ok(())
    });
    match written {
        // Another node registered the same device or actor id meanwhile.
        Err(AccountError::Db(e)) if e.is_unique_violation() => Err(AccountError::ActorTaken),
        other => other,
    }
}

const DEVICE_SELECT: &str = "SELECT d.id, u.username, d.actor, d.name, d.revoked, d.wipe_pending,
    d.status, d.created_ms, d.last_seen_ms FROM devices d JOIN users u ON u.id = d.user_id";

fn device_from_row(r: &Row) -> Result<Device, DbError> {
    let id: String = r.get(0)?;
    let status: String = r.get(6)?;
    Ok(Device {
        id: Uuid::parse_str(&id).unwrap_or(Uuid::nil()),
        user: r.get(1)?,
        actor: r.get(2)?,
        name: r.get(3)?,
        revoked: r.get(4)?,
        wipe_pending: r.get(5)?,
        status: serde_json::from_str(&status).unwrap_or(serde_json::Value::Null),
        created_ms: r.get(7)?,
        last_seen_ms: r.get(8)?,
    })
}

/// Devices, optionally of one user.
pub fn list_devices(tx: &dyn Sql, user: Option<&str>) -> Result<Vec<Device>, AccountError> {
    let rows = tx.query(
        &format!(
            "{DEVICE_SELECT} WHERE (CAST(?1 AS TEXT) IS NULL OR u.username = ?1)
             ORDER BY u.username, d.created_ms"
        ),
        &[&user],
    )?;
    Ok(rows.iter().map(device_from_row).collect::<Result<_, _>>()?)
}

/// One device.
pub fn get_device(tx: &dyn Sql, id: Uuid) -> Result<Option<Device>, AccountError> {
    let row = tx.query_opt(&format!("{DEVICE_SELECT} WHERE d.id = ?1"), &[&id])?;
    Ok(row.as_ref().map(device_from_row).transpose()?)
}

/// Revokes a device: its next sync is answered with `wipe`, after which its token is gone.
pub fn revoke_device(tx: &dyn Sql, id: Uuid) -> Result<Device, AccountError> {
    let n = tx.execute(
        "UPDATE devices SET revoked = TRUE, wipe_pending = TRUE WHERE id = ?1 AND NOT revoked",
        &[&id],
    )?;
    let device = get_device(tx, id)?.ok_or(AccountError::NoSuchDevice)?;
    if n == 0 && !device.revoked {
        return Err(AccountError::NoSuchDevice);
    }
    Ok(device)
}

/// Records that a revoked device received its wipe order: its tokens die.
pub fn wiped(tx: &dyn Sql, id: Uuid) -> Result<(), AccountError> {
    tx.execute(
        "UPDATE devices SET wipe_pending = FALSE WHERE id = ?1",
        &[&id],
    )?;
    tx.execute("DELETE FROM tokens WHERE device_id = ?1", &[&id])?;
    Ok(())
}

/// Stores what a device reported about itself on sync.
pub fn touch_device(
    tx: &dyn Sql,
    id: Uuid,
    status: &serde_json::Value,
    now_ms: i64,
) -> Result<(), AccountError> {
    tx.execute(
        "UPDATE devices SET status = ?1, last_seen_ms = ?2 WHERE id = ?3",
        &[&status.to_string(), &now_ms, &id],
    )?;
    crate::reports::devices::record_success(tx, id)?;
    Ok(())
}

/// SHA-256 of a token, the only form in which tokens are stored.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Issues a token for a device; returns the token (shown once) and its expiry (ms).
pub fn issue_token(
    tx: &dyn Sql,
    user_id: i64,
    device_id: Uuid,
    now_ms: i64,
    ttl_ms: i64,
) -> Result<(String, i64), AccountError> {
    let mut raw = [0u8; 32];
    rand::rngs::OsRng.fill(&mut raw);
    let token = hex::encode(raw);
    let expires = now_ms.saturating_add(ttl_ms);
    // One session per device: a new login ends the device's earlier tokens.
    tx.execute("DELETE FROM tokens WHERE device_id = ?1", &[&device_id])?;
    tx.execute(
        "INSERT INTO tokens (hash, device_id, user_id, created_ms, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        &[&token_hash(&token), &device_id, &user_id, &now_ms, &expires],
    )?;
    // Expired tokens authenticate nothing, but a device may still be told to wipe with one
    // (a lost phone that comes back months later), so they are kept for a while.
    tx.execute(
        "DELETE FROM tokens WHERE expires_ms <= ?1",
        &[&now_ms.saturating_sub(WIPE_TOKEN_GRACE_MS)],
    )?;
    Ok((token, expires))
}

/// How long after its expiry a token is kept so that its device can still receive a wipe.
pub const WIPE_TOKEN_GRACE_MS: i64 = 365 * 24 * 3_600_000;

/// Deletes a token (logout).
pub fn delete_token(tx: &dyn Sql, hash: &[u8; 32]) -> Result<(), AccountError> {
    tx.execute("DELETE FROM tokens WHERE hash = ?1", &[hash])?;
    Ok(())
}

/// What a token stands for.
#[derive(Debug, Clone)]
pub struct TokenInfo {
    /// The user.
    pub user: User,
    /// The device.
    pub device_id: Uuid,
    /// The device's actor id bytes.
    pub actor: Vec<u8>,
    /// Whether the device is revoked.
    pub revoked: bool,
    /// Whether a wipe order waits for it.
    pub wipe_pending: bool,
    /// Token expiry (ms).
    pub expires_ms: i64,
    /// The token was ended (password change, disable): it only still carries a wipe order.
    pub ended: bool,
}

/// Looks up a token by its hash. Nothing is cached: every request reads the token, its
/// device and its user from the database, so a revocation, a disable or a change of units
/// made through any node applies to the next request on every node.
pub fn lookup_token(tx: &dyn Sql, hash: &[u8; 32]) -> Result<Option<TokenInfo>, AccountError> {
    let Some(row) = tx.query_opt(
        "SELECT t.user_id, t.device_id, d.actor, d.revoked, d.wipe_pending, t.expires_ms,
                t.ended
         FROM tokens t JOIN devices d ON d.id = t.device_id WHERE t.hash = ?1",
        &[hash],
    )?
    else {
        return Ok(None);
    };
    let user_id: i64 = row.get(0)?;
    let device: String = row.get(1)?;
    let actor: String = row.get(2)?;
    let user = tx.query_opt(
        &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
        &[&user_id],
    )?;
    let Some(user) = user.as_ref().map(user_from_row).transpose()? else {
        return Ok(None);
    };
    Ok(Some(TokenInfo {
        user,
        device_id: Uuid::parse_str(&device).unwrap_or(Uuid::nil()),
        actor: hex::decode(actor).unwrap_or_default(),
        revoked: row.get(3)?,
        wipe_pending: row.get(4)?,
        expires_ms: row.get(5)?,
        ended: row.get(6)?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;
    use sync_core::store::schema::migrate;

    fn db() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn, crate::schema::SERVER_MIGRATIONS).unwrap();
        conn
    }

    #[test]
    fn a_display_name_is_stored_in_nfc_and_a_bad_one_changes_nothing() {
        let mut conn = db();
        let tx = conn.transaction().unwrap();
        let lan = add_user(&tx, "lan", "x", Role::Officer, &[], 0).unwrap();
        assert_eq!(
            (lan.display_name.as_deref(), lan.shown_name()),
            (None, "lan")
        );
        // Typed decomposed, with a double space: stored composed, one space.
        let set = set_display_name(&tx, "lan", Some("Nguye\u{0302}\u{0303}n  Thị Lan")).unwrap();
        assert_eq!(set.display_name.as_deref(), Some("Nguyễn Thị Lan"));
        assert_eq!(
            get_user(&tx, "lan").unwrap().unwrap().shown_name(),
            "Nguyễn Thị Lan"
        );
        for bad in ["Lan\nMinh", " ", &"a".repeat(101)] {
            assert!(
                matches!(
                    set_display_name(&tx, "lan", Some(bad)),
                    Err(AccountError::BadDisplayName(_))
                ),
                "{bad:?}"
            );
        }
        assert_eq!(
            get_user(&tx, "lan")
                .unwrap()
                .unwrap()
                .display_name
                .as_deref(),
            Some("Nguyễn Thị Lan")
        );
        assert!(matches!(
            set_display_name(&tx, "nobody", Some("Ai Đó")),
            Err(AccountError::NoSuchUser)
        ));
        assert_eq!(
            set_display_name(&tx, "lan", None).unwrap().display_name,
            None
        );
    }

    #[test]
    fn the_schema_refuses_an_over_long_display_name_from_any_writer() {
        let conn = db();
        conn.execute_batch(
            "INSERT INTO users (username, password_hash, role, created_ms)
             VALUES ('lan', 'x', 'officer', 0)",
        )
        .unwrap();
        let long = "ễ".repeat(101);
        let err = conn
            .execute("UPDATE users SET display_name = ?1", [&long])
            .unwrap_err();
        assert!(err.to_string().contains("CHECK"), "{err}");
        conn.execute("UPDATE users SET display_name = ?1", [&long[..300]])
            .unwrap();
    }

    #[test]
    fn the_fifth_attempt_locks_the_name_for_that_address_only_and_for_the_policy_duration() {
        let mut conn = db();
        let tx = conn.transaction().unwrap();
        let policy = LockoutPolicy {
            attempts: 5,
            duration_ms: 1000,
        };
        for i in 0..4 {
            assert_eq!(
                take_attempt(&tx, "an", "10.0.0.1", 100 + i, policy).unwrap(),
                Attempt::Granted { last: false }
            );
        }
        assert_eq!(
            take_attempt(&tx, "an", "10.0.0.1", 200, policy).unwrap(),
            Attempt::Granted { last: true }
        );
        assert_eq!(
            take_attempt(&tx, "an", "10.0.0.1", 1199, policy).unwrap(),
            Attempt::Locked { until_ms: 1200 }
        );
        assert_eq!(
            take_attempt(&tx, "an", "10.0.0.2", 300, policy).unwrap(),
            Attempt::Granted { last: false },
            "another address is not locked out"
        );
        assert_eq!(
            take_attempt(&tx, "an", "10.0.0.1", 1200, policy).unwrap(),
            Attempt::Granted { last: false },
            "the lock ends"
        );
    }

    #[test]
    fn a_success_clears_earlier_attempts() {
        let mut conn = db();
        let tx = conn.transaction().unwrap();
        let policy = LockoutPolicy::default();
        for _ in 0..4 {
            take_attempt(&tx, "an", "a", 0, policy).unwrap();
        }
        attempt_succeeded(&tx, "an", "a").unwrap();
        for _ in 0..4 {
            assert_eq!(
                take_attempt(&tx, "an", "a", 0, policy).unwrap(),
                Attempt::Granted { last: false }
            );
        }
    }

    #[test]
    fn an_actor_id_given_up_by_one_device_is_never_registered_to_another() {
        let mut conn = db();
        let tx = conn.transaction().unwrap();
        let u = add_user(&tx, "an", "x", Role::Officer, &[], 0).unwrap();
        let v = add_user(&tx, "binh", "x", Role::Officer, &[], 0).unwrap();
        let (d1, d2) = (Uuid::now_v7(), Uuid::now_v7());
        register_device(&tx, u.id, d1, "aa", "", 0).unwrap();
        // The app is reinstalled: the device comes back with a new actor id.
        register_device(&tx, u.id, d1, "bb", "", 0).unwrap();
        assert!(matches!(
            register_device(&tx, v.id, d2, "aa", "", 0),
            Err(AccountError::ActorTaken)
        ));
        // The device itself may go back to its own old id.
        register_device(&tx, u.id, d1, "aa", "", 0).unwrap();
    }

    #[test]
    fn a_password_change_ends_tokens_but_keeps_them_for_a_wipe_order() {
        let mut conn = db();
        let tx = conn.transaction().unwrap();
        let u = add_user(&tx, "an", "x", Role::Officer, &[], 0).unwrap();
        let d = Uuid::now_v7();
        register_device(&tx, u.id, d, "aa", "", 0).unwrap();
        let (token, _) = issue_token(&tx, u.id, d, 0, 1000).unwrap();
        set_password(&tx, "an", "y").unwrap();
        let info = lookup_token(&tx, &token_hash(&token)).unwrap().unwrap();
        assert!(info.ended);
    }

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "correct horse"));
        assert!(!verify_password(&h, "correct hors"));
        assert!(!verify_password("not a hash", "x"));
    }

    #[test]
    fn units_must_be_current_admin_units() {
        assert!(check_units(&["07132".into()]).is_ok());
        assert!(matches!(
            check_units(&["07138".into()]),
            Err(AccountError::UnknownUnit(_))
        ));
    }

    #[test]
    fn an_actor_id_belongs_to_one_device() {
        let mut conn = db();
        let tx = conn.transaction().unwrap();
        let u = add_user(&tx, "an", "x", Role::Officer, &[], 0).unwrap();
        let (d1, d2) = (Uuid::now_v7(), Uuid::now_v7());
        register_device(&tx, u.id, d1, "aa", "", 0).unwrap();
        assert!(matches!(
            register_device(&tx, u.id, d2, "aa", "", 0),
            Err(AccountError::ActorTaken)
        ));
        let v = add_user(&tx, "binh", "x", Role::Officer, &[], 0).unwrap();
        assert!(matches!(
            register_device(&tx, v.id, d1, "bb", "", 0),
            Err(AccountError::DeviceOfAnotherUser)
        ));
    }

    #[test]
    fn tokens_are_stored_only_as_hashes() {
        let mut conn = db();
        let tx = conn.transaction().unwrap();
        let u = add_user(&tx, "an", "x", Role::Officer, &[], 0).unwrap();
        let d = Uuid::now_v7();
        register_device(&tx, u.id, d, "aa", "", 0).unwrap();
        let (token, _) = issue_token(&tx, u.id, d, 0, 1000).unwrap();
        let stored: Vec<u8> = tx
            .query_row("SELECT hash FROM tokens", [], |r| r.get(0))
            .unwrap();
        assert_ne!(stored, token.as_bytes());
        assert!(lookup_token(&tx, &token_hash(&token)).unwrap().is_some());
    }
}
