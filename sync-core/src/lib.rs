//! # sync-core: the sans-IO heart of Ferry
//!
//! Ferry keeps identity-card (CCCD) applications and residence data for ward police and
//! commune staff who work offline for days. This crate is shared by the server and the phones:
//! it holds every rule that decides what a record may look like, every byte format, and the
//! device's local replica. It does no networking: a phone (or a test) turns the replica's state
//! into a request, carries it however it can, and hands the reply back.
//!
//! ## The pieces
//!
//! | module | what it is |
//! |---|---|
//! | [`model`] | record kinds and fields, validation (structural errors vs data-quality findings), the application workflow, the admin-unit catalog, ID-number rules, NFC text and diacritic-free search keys |
//! | [`doc`] | one Automerge document per record: typed reads and edits, per-field conflicts with their authors, per-field history |
//! | [`store`] | SQLite (optionally SQLCipher) with one writer and several readers, `user_version` migrations, and the replica's tables |
//! | [`protocol`] | the wire types of sync v1 (CBOR) and content compression |
//! | [`replica`] | a device's replica: local edits into the outbox, `prepare_sync` / `apply_reply` |
//!
//! Dependencies point one way: `server` and `mobile-ffi` depend on this crate, never the
//! reverse.
//!
//! ## Records
//!
//! A record is a root map: `id` (UUIDv7), `kind`, `schema`, `unit` (the current admin-unit
//! code used for scoping) and the kind's fields ([`model::fields_of`]). Dates are
//! `YYYY-MM-DD` text. Sets (household members) are maps keyed by the member's citizen id so
//! that two officers adding members at once both keep their additions. Deletion is a status.
//!
//! Validation has two outcomes. A [`model::StructuralError`] refuses the write (an 11-digit ID
//! number, an unknown unit, a malformed date). A [`model::Finding`] is saved with the record
//! and reported: the paper the citizen shows may itself be wrong, and the officer must be able
//! to record what it says.
//!
//! Address unit fields take any code of the country from either side of the 2025-07-01
//! reorganisation ([`model::catalog`]). They are read as of the record's capture date
//! ([`model::captured_on`]: a citizen's `captured_on`, a declaration's `filed_on`), so a code
//! reused since then keeps the meaning it had on the form; a code that names an old unit is a
//! finding that suggests the current unit(s) ([`model::Catalog::normalise_on`]).
//!
//! ```
//! use sync_core::model::{self, Fields, Kind, Record, ValidationContext, Value};
//!
//! let mut fields = Fields::new();
//! fields.insert("full_name".into(), Value::from("Nguyễn Thị Ánh"));
//! fields.insert("sex".into(), Value::from("female"));
//! fields.insert("date_of_birth".into(), Value::from("1985-03-02"));
//! fields.insert("id_number".into(), Value::from("022085001234"));
//! let record = Record { id: uuid::Uuid::now_v7(), kind: Kind::Citizen, unit: "07132".into(), fields };
//!
//! // Digit 4 is 0, which means a man born 1900–1999: saved, but flagged for review.
//! let findings = model::validate(&record, &ValidationContext::new("2026-11-26")).unwrap();
//! assert!(findings.iter().any(|f| f.code == "id_number_sex_mismatch"));
//!
//! // Eleven digits is not an ID number at all: refused.
//! let mut bad = record.clone();
//! bad.fields.insert("id_number".into(), Value::from("02208500123"));
//! let errors = model::validate(&bad, &ValidationContext::new("2026-11-26")).unwrap_err();
//! assert_eq!(errors[0].field, "id_number");
//!
//! // Search keys ignore diacritics.
//! assert_eq!(model::search_key("Nguyễn Thị Ánh"), "nguyen thi anh");
//! ```
//!
//! ## Two replicas, one exchange
//!
//! Each sync is one request and one reply ([`protocol::SyncRequest`],
//! [`protocol::SyncReply`]). Here a few lines stand in for the server: they acknowledge what
//! one phone pushed and forward it to the other as a snapshot.
//!
//! ```
//! use serde_bytes::ByteBuf;
//! use sync_core::doc::{decode_change, Edit, RecordDoc};
//! use sync_core::model::{Fields, Kind, Value};
//! use sync_core::protocol::{PullEntry, SyncReply, SyncRequest};
//! use sync_core::replica::{Replica, SyncOptions};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let phone_a = Replica::open(&dir.path().join("a.db"), None).unwrap();
//! let phone_b = Replica::open(&dir.path().join("b.db"), None).unwrap();
//! let now = 1_767_225_600_000; // ms since the Unix epoch
//!
//! // Officer A registers a citizen offline.
//! let mut fields = Fields::new();
//! fields.insert("full_name".into(), Value::from("Trần Văn Bình"));
//! fields.insert("status".into(), Value::from("active"));
//! let id = phone_a.create(Kind::Citizen, "07132", fields, now).unwrap().record.id;
//!
//! // A toy server: accept every pushed change and forward each record as a snapshot.
//! fn relay(req: &SyncRequest, now: i64) -> (SyncReply, SyncReply) {
//!     let (mut to_sender, mut to_other) = (SyncReply::empty(now), SyncReply::empty(now));
//!     for push in &req.push {
//!         let mut doc = RecordDoc::empty();
//!         let changes: Vec<_> = push.changes.iter().map(|c| decode_change(c).unwrap()).collect();
//!         to_sender.accepted.extend(changes.iter().map(|c| ByteBuf::from(c.hash().0.to_vec())));
//!         doc.apply_changes(changes).unwrap();
//!         to_other.pull.push(PullEntry {
//!             record: push.record,
//!             kind: push.kind.clone(),
//!             unit: push.unit.clone(),
//!             changes: vec![],
//!             snapshot: Some(ByteBuf::from(doc.save_uncompressed())),
//!             lineage: 0,
//!             replace: false,
//!             redacted: vec![],
//!         });
//!     }
//!     (to_sender, to_other)
//! }
//!
//! let request = phone_a.prepare_sync(&SyncOptions::default()).unwrap();
//! let (ack, forward) = relay(&request, now);
//! phone_a.apply_reply(&ack, now).unwrap();
//! phone_b.apply_reply(&forward, now).unwrap();
//! assert_eq!(phone_a.outbox_status().unwrap().pending, 0);
//!
//! // Officer B corrects the name; the edit flows back the same way.
//! phone_b
//!     .update(id, &[Edit::Set { field: "full_name".into(), value: "Trần Văn Bính".into() }], now + 1)
//!     .unwrap();
//! let (_, forward) = relay(&phone_b.prepare_sync(&SyncOptions::default()).unwrap(), now);
//! phone_a.apply_reply(&forward, now).unwrap();
//! let seen_by_a = phone_a.get(id).unwrap().unwrap().record;
//! assert_eq!(seen_by_a.text("full_name"), Some("Trần Văn Bính"));
//! assert_eq!(phone_a.all_heads().unwrap(), phone_b.all_heads().unwrap());
//! ```
//!
//! ## Conflicts
//!
//! Automerge never loses a concurrent value. [`doc::RecordDoc::conflicts`] lists every field
//! holding more than one value, each with the actor (device) and time that wrote it; the
//! server turns those on identity and residence fields into review items for an admin, whose
//! resolution is itself a change that clears the conflict everywhere.
//!
//! ## Storage
//!
//! [`store::Pool`] opens one writer and several readers over a WAL database and runs the
//! migrations in [`store::schema`]. Writes take a `&Transaction`, so bulk paths
//! ([`replica::Replica::import`], [`replica::Replica::apply_reply`]) cost one commit. With the
//! `sqlcipher` feature and a 32-byte key the file is encrypted at rest; a wrong key is
//! [`store::StoreError::WrongKey`], never a panic.

#![forbid(unsafe_code)]

pub mod attachment;
pub mod check;
pub mod doc;
pub mod lineage;
pub mod model;
pub mod protocol;
pub mod replica;
pub mod store;
pub mod time;
