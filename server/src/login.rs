//! Password checks for `POST /v1/login` and the console sign-in, under bounds an anonymous
//! client cannot lift:
//!
//! 1. Rate limits per client address and per account name (`governor` token buckets):
//!    beyond them the answer is 429 with `Retry-After`, before any work.
//! 2. An attempt is counted (and the name locked for that client address once the policy's
//!    attempts are used) in a write transaction *before* the password is hashed, so parallel
//!    guesses cannot all be checked against one count ([`accounts::take_attempt`]).
//! 3. Hashing (argon2id, ≈ 19 MiB each) runs under a semaphore sized to the cores, on as many
//!    dedicated threads; at most [`QUEUE_PER_CORE`] waiters per core queue for it, later ones
//!    get 503 with `Retry-After`.
//! 4. Unknown names and locked names are hashed against a dummy hash, so all three answer in
//!    the time of one hash.
//! 5. Failed logins are audited at most a few rows a minute per address and overall; the rows
//!    that were not written are counted in the next one (`"suppressed"`).

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use rand::RngCore;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use crate::accounts::{self, Attempt, LockoutPolicy, User};
use crate::config::Config;
use crate::{AppState, audit, now_ms};

/// Waiters per core allowed to queue for a hashing slot.
pub const QUEUE_PER_CORE: usize = 16;
/// Failed-login audit rows written per client address per minute (the rest are counted).
const AUDIT_PER_ADDRESS_PER_MINUTE: u32 = 6;
/// Failed-login audit rows written per minute over all addresses.
const AUDIT_PER_MINUTE: u32 = 30;
/// Rate-limiter entries checked between two clean-ups of idle keys.
const CLEANUP_EVERY: u64 = 4096;

/// Why a login was refused before its password was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Too many attempts from this address or for this name: try again after this long.
    RateLimited(Duration),
    /// Every hashing slot and queue place is taken: try again in a second.
    Busy,
}

/// The outcome of a password check.
#[derive(Debug, Clone)]
pub enum Verdict {
    /// Right password of an enabled account.
    Ok(User),
    /// Unknown name or wrong password.
    BadCredentials,
    /// The name is locked for this client address after repeated failures.
    Locked(Duration),
    /// Right password, but the account is disabled.
    Disabled(User),
}

/// Shared login state: the hashing semaphore, the rate limiters and the console form key.
#[derive(Debug)]
pub struct LoginGuard {
    hashing: Arc<Semaphore>,
    queued: AtomicUsize,
    max_queued: usize,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    per_account: DefaultKeyedRateLimiter<String>,
    audit_per_address: DefaultKeyedRateLimiter<IpAddr>,
    audit_overall: DefaultKeyedRateLimiter<()>,
    suppressed: AtomicU64,
    checks: AtomicU64,
    form_key: [u8; 32],
    hasher: Mutex<mpsc::Sender<HashJob>>,
}

/// A password to check against a stored hash, and where to send the answer.
type HashJob = (String, String, oneshot::Sender<bool>);

/// Starts `n` long-lived threads that check passwords. Hashing only ever runs on these, so
/// the ≈ 19 MiB argon2 buffers are reused by a fixed set of threads (and their allocator
/// arenas) instead of being left behind in every blocking-pool thread that once hashed.
fn start_hashers(n: usize) -> mpsc::Sender<HashJob> {
    let (tx, rx) = mpsc::channel::<HashJob>();
    let rx = Arc::new(Mutex::new(rx));
    for i in 0..n {
        let rx = rx.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("ferry-hash-{i}"))
            .spawn(move || {
                loop {
                    let job = rx
                        .lock()
                        .map_err(|_| ())
                        .and_then(|r| r.recv().map_err(|_| ()));
                    let Ok((hash, password, reply)) = job else {
                        return;
                    };
                    let _ = reply.send(accounts::verify_password(&hash, &password));
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start a password-hashing thread");
        }
    }
    tx
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN))
}

impl LoginGuard {
    /// A guard with the configured limits and `available_parallelism` hashing slots.
    pub fn new(config: &Config) -> LoginGuard {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        // Computed now so that the first unknown name does not take two hashes' time.
        let _ = accounts::dummy_hash();
        let mut form_key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut form_key);
        LoginGuard {
            hashing: Arc::new(Semaphore::new(cores)),
            queued: AtomicUsize::new(0),
            max_queued: cores * QUEUE_PER_CORE,
            per_address: RateLimiter::keyed(per_minute(config.login_per_address_per_minute)),
            per_account: RateLimiter::keyed(per_minute(config.login_per_account_per_minute)),
            audit_per_address: RateLimiter::keyed(per_minute(AUDIT_PER_ADDRESS_PER_MINUTE)),
            audit_overall: RateLimiter::keyed(per_minute(AUDIT_PER_MINUTE)),
            suppressed: AtomicU64::new(0),
            checks: AtomicU64::new(0),
            form_key,
            hasher: Mutex::new(start_hashers(cores)),
        }
    }

    /// Checks `password` against `hash` on a hashing thread.
    async fn verify(&self, hash: String, password: String) -> anyhow::Result<bool> {
        let (tx, rx) = oneshot::channel();
        self.hasher
            .lock()
            .map_err(|_| anyhow::anyhow!("the hashing threads are gone"))?
            .send((hash, password, tx))
            .map_err(|_| anyhow::anyhow!("the hashing threads are gone"))?;
        Ok(rx.await?)
    }

    /// The key the console signs its login forms' tokens with (random per process).
    pub fn form_key(&self) -> &[u8; 32] {
        &self.form_key
    }

    fn check_rate(&self, address: IpAddr, username: &str) -> Result<(), Refusal> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % CLEANUP_EVERY == CLEANUP_EVERY - 1 {
            self.per_address.retain_recent();
            self.per_account.retain_recent();
            self.audit_per_address.retain_recent();
        }
        let clock = DefaultClock::default();
        self.per_address
            .check_key(&address)
            .and_then(|()| self.per_account.check_key(&username.to_owned()))
            .map_err(|not_until| Refusal::RateLimited(not_until.wait_time_from(clock.now())))
    }

    fn enter_queue(self: &Arc<Self>) -> Result<QueueTicket, Refusal> {
        let before = self.queued.fetch_add(1, Ordering::AcqRel);
        let ticket = QueueTicket(self.clone());
        if before >= self.max_queued {
            return Err(Refusal::Busy);
        }
        Ok(ticket)
    }

    /// Whether a failed-login row may be written now; `Some(n)` with the rows left out since.
    fn audit_slot(&self, address: IpAddr) -> Option<u64> {
        let ok = self.audit_per_address.check_key(&address).is_ok()
            && self.audit_overall.check_key(&()).is_ok();
        if ok {
            Some(self.suppressed.swap(0, Ordering::Relaxed))
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

/// A place in the hashing queue, given back on drop.
struct QueueTicket(Arc<LoginGuard>);

impl Drop for QueueTicket {
    fn drop(&mut self) {
        self.0.queued.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The client's address: the TCP peer, or with `--trust-proxy-headers` the address the
/// reverse proxy put last in `X-Forwarded-For`. IPv6 addresses count by their /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// The key attempts and rate limits are counted under.
    pub fn key(self) -> IpAddr {
        match self.0 {
            IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(self.0, IpAddr::V4),
            v4 => v4,
        }
    }
}

fn forwarded_for(parts: &Parts) -> Option<IpAddr> {
    let value = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .next_back()?
        .to_str()
        .ok()?;
    value.rsplit(',').next()?.trim().parse().ok()
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let proxied = state
            .config
            .trust_proxy_headers
            .then(|| forwarded_for(parts))
            .flatten();
        Ok(ClientAddr(
            proxied
                .or(peer)
                .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
        ))
    }
}

/// One login attempt.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The name given (at most 64 bytes are looked at).
    pub username: String,
    /// The password given.
    pub password: String,
    /// Where it came from.
    pub client: ClientAddr,
    /// `api` or `console` (audited).
    pub via: &'static str,
    /// The audit trail's device column (the device id, or `console`).
    pub device: String,
}

/// Checks a password under every bound of this module. `Err` is a storage failure.
pub async fn check(
    state: &AppState,
    creds: Credentials,
) -> anyhow::Result<Result<Verdict, Refusal>> {
    let guard = state.login.clone();
    let address = creds.client.key();
    if let Err(refusal) = guard.check_rate(address, &creds.username) {
        return Ok(Err(refusal));
    }
    let ticket = match guard.enter_queue() {
        Ok(t) => t,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let policy = LockoutPolicy {
        attempts: state.config.lockout_attempts,
        duration_ms: state.config.lockout().as_millis() as i64,
    };
    let store = state.store.clone();
    let (name, addr_text) = (creds.username.clone(), address.to_string());
    let (attempt, user) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let attempt = store.write(|tx| -> anyhow::Result<Attempt> {
            Ok(accounts::take_attempt(
                tx,
                &name,
                &addr_text,
                now_ms(),
                policy,
            )?)
        })?;
        Ok((attempt, store.read(|c| accounts::get_user(c, &name))?))
    })
    .await??;
    let permit: OwnedSemaphorePermit = guard.hashing.clone().acquire_owned().await?;
    drop(ticket);
    let hash = match (&user, attempt) {
        (Some(u), Attempt::Granted { .. }) => u.password_hash().to_owned(),
        _ => accounts::dummy_hash().to_owned(),
    };
    let ok = guard.verify(hash, creds.password.clone()).await?;
    drop(permit);
    let checked = (user, ok);
    let verdict = match (attempt, checked) {
        (Attempt::Locked { until_ms }, _) => {
            let left = until_ms.saturating_sub(now_ms()).max(1000) as u64;
            Verdict::Locked(Duration::from_millis(left))
        }
        (Attempt::Granted { .. }, (Some(user), true)) if user.disabled => Verdict::Disabled(user),
        (Attempt::Granted { .. }, (Some(user), true)) => Verdict::Ok(user),
        // The failure that used the last attempt locks: say so at once.
        (Attempt::Granted { last: true }, _) => Verdict::Locked(policy_duration(&policy)),
        _ => Verdict::BadCredentials,
    };
    settle(state, &creds, address, attempt, &verdict).await?;
    Ok(Ok(verdict))
}

fn policy_duration(policy: &LockoutPolicy) -> Duration {
    Duration::from_millis(policy.duration_ms.max(1000) as u64)
}

/// After the check: a success clears the attempts; a failure is audited (rate-limited).
async fn settle(
    state: &AppState,
    creds: &Credentials,
    address: IpAddr,
    attempt: Attempt,
    verdict: &Verdict,
) -> anyhow::Result<()> {
    let reason = match verdict {
        Verdict::Ok(_) => None,
        Verdict::BadCredentials => Some("wrong_credentials"),
        Verdict::Locked(_) if matches!(attempt, Attempt::Granted { .. }) => {
            Some("wrong_credentials")
        }
        Verdict::Locked(_) => Some("locked"),
        Verdict::Disabled(_) => Some("disabled"),
    };
    let audit_slot = match reason {
        Some(_) => match state.login.audit_slot(address) {
            Some(n) => Some(n),
            None => return Ok(()),
        },
        None => None,
    };
    let store = state.store.clone();
    let (name, device, via) = (creds.username.clone(), creds.device.clone(), creds.via);
    let addr_text = address.to_string();
    let locked_now = matches!(attempt, Attempt::Granted { last: true });
    tokio::task::spawn_blocking(move || {
        store.write(|tx| -> anyhow::Result<()> {
            let Some(reason) = reason else {
                accounts::attempt_succeeded(tx, &name, &addr_text)?;
                return Ok(());
            };
            audit::append(
                tx,
                now_ms(),
                &audit::Entry {
                    user: &name,
                    device: &device,
                    action: "login_failed",
                    details: serde_json::json!({
                        "reason": reason,
                        "locked": locked_now || reason == "locked",
                        "via": via,
                        "address": addr_text,
                        "suppressed": audit_slot.unwrap_or(0),
                    }),
                    ..audit::Entry::default()
                },
            )?;
            Ok(())
        })
    })
    .await??;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_count_by_their_64_prefix_and_mapped_ipv4_as_ipv4() {
        let a = ClientAddr("2001:db8:1:2:3:4:5:6".parse().unwrap());
        let b = ClientAddr("2001:db8:1:2:ffff::1".parse().unwrap());
        assert_eq!(a.key(), b.key());
        let m = ClientAddr("::ffff:10.0.0.1".parse().unwrap());
        assert_eq!(m.key(), "10.0.0.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn a_full_queue_refuses_instead_of_piling_up() {
        let guard = Arc::new(LoginGuard::new(&Config::default()));
        let tickets: Vec<_> = (0..guard.max_queued)
            .map(|_| guard.enter_queue().unwrap())
            .collect();
        assert_eq!(guard.enter_queue().err(), Some(Refusal::Busy));
        drop(tickets);
        assert!(guard.enter_queue().is_ok());
    }

    #[test]
    fn failed_login_audit_rows_are_bounded_per_address() {
        let guard = LoginGuard::new(&Config::default());
        let addr: IpAddr = "10.0.0.9".parse().unwrap();
        let written = (0..100)
            .filter(|_| guard.audit_slot(addr).is_some())
            .count();
        assert_eq!(written, AUDIT_PER_ADDRESS_PER_MINUTE as usize);
        let other: IpAddr = "10.0.0.10".parse().unwrap();
        assert_eq!(
            guard.audit_slot(other),
            Some(100 - u64::from(AUDIT_PER_ADDRESS_PER_MINUTE)),
            "the next row written counts the ones left out"
        );
    }
}
