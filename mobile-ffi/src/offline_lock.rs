//! Lost phones: a store that has not been in contact with the server for too long refuses to
//! show personal data until the officer signs in online again (`mobile-ffi/README.md`
//! §"Lost phones").
//!
//! The store keeps, in its encrypted `meta` table, the time (device clock) of the last
//! successful contact (a sync reply applied, or a login), the limit in days, and a latch set
//! once the limit has passed. The latch is cleared only by a successful `login` (the password, checked
//! by the server): a sync with the token the store already holds does not clear it, so
//! whoever has the phone and its PIN but not the officer's password cannot reopen the data.
//! A device clock set back more than a day before the last contact (to dodge the limit) sets
//! the latch too.

use serde::{Deserialize, Serialize};
use sync_core::replica::Replica;

use crate::error::{ApiError, Error};
use crate::store::FerryStore;

/// The offline state, as JSON under [`META_KEY`].
const META_KEY: &str = "ffi.offline_lock";

/// Days a store may go without contact before it locks, unless the app sets another limit.
pub const DEFAULT_LIMIT_DAYS: u32 = 14;
/// The largest limit an app may set.
pub const MAX_LIMIT_DAYS: u32 = 365;
const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct State {
    /// Device time of the last successful contact (ms); `None` before the first one.
    last_online_ms: Option<i64>,
    /// Device time when the store first checked, for a store that never had contact.
    first_seen_ms: Option<i64>,
    /// The limit; `None` means [`DEFAULT_LIMIT_DAYS`].
    limit_days: Option<u32>,
    /// Set once the limit passed; cleared by a login only.
    locked: bool,
}

fn load(r: &Replica) -> Result<State, Error> {
    Ok(crate::account::load_json(r, META_KEY)?.unwrap_or_default())
}

fn save(r: &Replica, s: &State) -> Result<(), Error> {
    crate::account::save_json(r, META_KEY, s)
}

/// Refuses with [`Error::OfflineTooLong`] when the store has been out of contact longer than
/// its limit (and latches that), or its clock was set back.
pub(crate) fn check(r: &Replica, now_ms: i64) -> Result<(), Error> {
    let mut s = load(r)?;
    let limit = s.limit_days.unwrap_or(DEFAULT_LIMIT_DAYS);
    if s.locked {
        return Err(Error::OfflineTooLong(limit));
    }
    let since = match (s.last_online_ms, s.first_seen_ms) {
        (Some(t), _) | (None, Some(t)) => t,
        (None, None) => {
            // Start counting from the first use of a store that never reached the server.
            s.first_seen_ms = Some(now_ms);
            save(r, &s)?;
            return Ok(());
        }
    };
    let expired = now_ms - since > i64::from(limit) * DAY_MS;
    let wound_back = now_ms < since - DAY_MS;
    if expired || wound_back {
        s.locked = true;
        save(r, &s)?;
        return Err(Error::OfflineTooLong(limit));
    }
    Ok(())
}

/// A sync reply was applied at `now_ms`: the new last contact. The latch stays.
pub(crate) fn synced(r: &Replica, now_ms: i64) -> Result<(), Error> {
    let mut s = load(r)?;
    s.last_online_ms = Some(s.last_online_ms.map_or(now_ms, |t| t.max(now_ms)));
    save(r, &s)
}

/// A login succeeded: contact now, and the latch is cleared.
pub(crate) fn signed_in(r: &Replica, now_ms: i64) -> Result<(), Error> {
    let mut s = load(r)?;
    s.last_online_ms = Some(now_ms);
    s.locked = false;
    save(r, &s)
}

/// Sets the limit (1 to [`MAX_LIMIT_DAYS`] days).
pub(crate) fn set_limit(r: &Replica, days: u32) -> Result<(), Error> {
    if !(1..=MAX_LIMIT_DAYS).contains(&days) {
        return Err(Error::Argument("the offline limit is 1 to 365 days"));
    }
    let mut s = load(r)?;
    s.limit_days = Some(days);
    save(r, &s)
}

/// The limit in days, the last contact (server time, ms) and whether the store is locked.
pub(crate) fn status(r: &Replica) -> Result<(u32, Option<i64>, bool), Error> {
    let s = load(r)?;
    Ok((
        s.limit_days.unwrap_or(DEFAULT_LIMIT_DAYS),
        s.last_online_ms,
        s.locked,
    ))
}

/// Where a store stands with the lost-phone lock (`offlineStatus()`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OfflineStatus {
    /// Days without contact after which records lock.
    pub limit_days: u32,
    /// When the last successful sync or login was (device clock, ms), if any.
    pub last_online_ms: Option<i64>,
    /// Whether records are locked until the officer logs in online.
    pub locked: bool,
}

#[uniffi::export]
impl FerryStore {
    /// Sets how many days (1 to 365; default 14) the phone may go without a successful sync
    /// or login before records lock (`OfflineTooLong`) until the officer logs in online.
    /// Kept in the store. Choose it with the office: longer than the longest field trip.
    pub fn set_offline_limit_days(&self, days: u32) -> Result<(), ApiError> {
        self.read(|r| set_limit(r, days))
    }

    /// The lost-phone lock's limit, last contact and state.
    pub fn offline_status(&self) -> Result<OfflineStatus, ApiError> {
        self.read(|r| {
            let (limit_days, last_online_ms, locked) = status(r)?;
            Ok(OfflineStatus {
                limit_days,
                last_online_ms,
                locked,
            })
        })
    }
}

/// Tests: pretend the last contact was at `ms`.
#[cfg(test)]
pub(crate) fn set_last_online(r: &Replica, ms: i64) {
    let mut s = load(r).unwrap();
    s.last_online_ms = Some(ms);
    save(r, &s).unwrap();
}
