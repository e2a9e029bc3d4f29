//! Wrong PINs: after [`FREE_TRIES`] wrong PINs in a row, each further try must wait, twice as
//! long as the one before (30 s, 1 min, 2 min, …, at most a day), until a right PIN resets
//! the count (`mobile-ffi/README.md` §"Lost phones").
//!
//! The count must be readable before the store is open (the PIN is what opens it), so it
//! lives in a small plain file beside the store, `<store>.pin-attempts`, holding only two
//! numbers. It slows guessing through the app; someone who copies the store files off the
//! phone skips it and faces the key derivation's cost alone (stated in the README).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, Error};

/// Wrong PINs in a row allowed without waiting.
pub const FREE_TRIES: u32 = 3;
/// The wait after the first wrong PIN beyond the free ones, in seconds.
const FIRST_WAIT_SECS: i64 = 30;
/// The longest wait, in seconds (a day).
const MAX_WAIT_SECS: i64 = 86_400;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Attempts {
    /// Wrong PINs in a row.
    failures: u32,
    /// No try before this time (ms).
    next_ms: i64,
}

fn file(store: &Path) -> PathBuf {
    let mut name = store.as_os_str().to_owned();
    name.push(".pin-attempts");
    PathBuf::from(name)
}

fn load(store: &Path) -> Attempts {
    std::fs::read(file(store))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// The wait after `failures` wrong PINs in a row, in seconds.
pub fn wait_secs(failures: u32) -> i64 {
    if failures <= FREE_TRIES {
        return 0;
    }
    let doublings = (failures - FREE_TRIES - 1).min(20);
    (FIRST_WAIT_SECS << doublings).min(MAX_WAIT_SECS)
}

/// Refuses with [`Error::PinWait`] while the last wrong PIN's wait runs.
pub(crate) fn before_try(store: &Path, now_ms: i64) -> Result<(), Error> {
    let a = load(store);
    if now_ms < a.next_ms {
        let secs = (a.next_ms - now_ms + 999) / 1000;
        return Err(Error::PinWait(secs.max(1) as u64));
    }
    Ok(())
}

/// Counts a wrong PIN and starts its wait.
pub(crate) fn failed(store: &Path, now_ms: i64) -> Result<(), Error> {
    let mut a = load(store);
    a.failures = a.failures.saturating_add(1);
    a.next_ms = now_ms + wait_secs(a.failures) * 1000;
    let tmp = file(store).with_extension("pin-attempts.tmp");
    std::fs::write(&tmp, serde_json::to_vec(&a)?)?;
    std::fs::rename(&tmp, file(store))?;
    Ok(())
}

/// A right PIN: the count starts again.
pub(crate) fn succeeded(store: &Path) -> Result<(), Error> {
    match std::fs::remove_file(file(store)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}

/// Runs `open` (derive the key from a PIN and open the store) unless a wait runs; counts a
/// `WrongKey` as a wrong PIN and a success as a right one.
pub(crate) fn guarded<T>(
    store: &Path,
    now_ms: i64,
    open: impl FnOnce() -> Result<T, Error>,
) -> Result<T, ApiError> {
    before_try(store, now_ms)?;
    match open() {
        Ok(v) => {
            succeeded(store)?;
            Ok(v)
        }
        Err(e) => {
            let e = ApiError::from(e);
            if e == ApiError::WrongKey {
                failed(store, now_ms)?;
            }
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_after_the_free_tries_and_stops_at_a_day() {
        let waits: Vec<i64> = (1..=8).map(wait_secs).collect();
        assert_eq!(waits, [0, 0, 0, 30, 60, 120, 240, 480]);
        assert_eq!(wait_secs(40), MAX_WAIT_SECS);
        assert_eq!(wait_secs(u32::MAX), MAX_WAIT_SECS);
    }
}
