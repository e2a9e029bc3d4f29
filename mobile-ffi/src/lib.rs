//! Ferry's phone API: UniFFI bindings over `sync-core` for Kotlin, Swift and Python.
//!
//! The exported surface is deliberately thin:
//!
//! - [`FerryStore`] wraps a `sync_core::replica::Replica` over an SQLCipher-encrypted SQLite
//!   file: records of every kind, search, conflicts, history, the outbox and rejected edits;
//!   login; sync (sans-IO or built-in over HTTP); remote wipe.
//! - [`derive_key_from_pin`] and [`new_salt`] turn an officer's PIN into a store key with
//!   argon2id, for devices without a hardware keystore.
//! - [`SyncProgress`] is implemented by the app (a foreign trait) to follow a sync;
//!   [`CancelToken`] stops one between round trips.
//! - Every fallible call throws [`ApiError`] (`ApiException` in Kotlin), whose messages never
//!   contain personal data.
//!
//! Every call blocks (disk and, for `login`/`sync`, network): call them off the UI thread.

mod account;
mod attachments;
mod error;
mod http;
mod key;
mod offline_lock;
mod pin_guard;
mod redact;
mod search;
mod store;
mod types;

pub use attachments::{
    AttachmentInfo, AttachmentPrefetch, AttachmentState, PrefetchSummary, TransferProgress,
    UploadSummary,
};
pub use error::ApiError;
pub use key::{derive_key_from_pin, new_salt};
pub use offline_lock::OfflineStatus;
pub use store::{CancelToken, FerryStore, SyncProgress};
pub use types::*;

uniffi::setup_scaffolding!();

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_attach;
#[cfg(test)]
mod tests_phone;
#[cfg(test)]
mod tests_rights;
