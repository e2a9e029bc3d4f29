//! Accepting a residence registration or removal updates its citizen's residence fields,
//! and a registration those of the members moving with them (`model::rules::
//! residence_updates`: one source of truth, the citizen record). The device
//! that accepts writes those edits with the acceptance when it holds the citizen; when it
//! does not (the citizen is in another unit, or not pulled yet), the server writes them in
//! the same push transaction, as one change by its own actor ([`SERVER_ACTOR`]), so the
//! citizen never keeps the old residence.

use std::sync::Arc;

use sync_core::doc::{Author, RecordDoc};
use sync_core::model::{Record, rules};
use uuid::Uuid;

use crate::db::Sql;
use crate::feed;

/// The Automerge actor of the server's own changes to records (`ferry-server`, padded).
pub const SERVER_ACTOR: [u8; 16] = *b"ferry-server\0\0\0\0";

/// The device id the change log names as the origin of the server's own changes (no real
/// device has it: device ids are UUIDv7).
pub const SERVER_DEVICE: Uuid = Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_5e7e_0001);

/// Stored records, read in the caller's transaction.
struct Stored<'a>(&'a dyn Sql);

impl rules::Related for Stored<'_> {
    fn get(&self, id: Uuid) -> Option<Arc<Record>> {
        let stored = feed::get_record(self.0, id).ok()??;
        RecordDoc::load(&stored.doc).ok()?.read().ok().map(Arc::new)
    }
    fn complete(&self) -> bool {
        true
    }
}

/// For each declaration accepted by this push, the citizen edits its acceptance implies,
/// written when the citizen does not reflect them yet. Returns the citizens changed (to
/// queue for review detection).
pub fn follow_acceptances(
    tx: &dyn Sql,
    accepted: &[Arc<Record>],
    now_ms: i64,
) -> anyhow::Result<Vec<Uuid>> {
    let mut changed = Vec::new();
    let updates = accepted
        .iter()
        .flat_map(|declaration| rules::residence_updates(declaration, &Stored(tx)));
    for (citizen, edits) in updates {
        if feed::get_record(tx, citizen)?.is_none() {
            continue;
        }
        let edits = rules::as_edits(edits);
        let author = Author::new(&SERVER_ACTOR, now_ms);
        match crate::review::resolve::apply_admin_edits(
            tx,
            citizen,
            &edits,
            &author,
            SERVER_DEVICE,
            now_ms,
        ) {
            Ok(Some(_)) => changed.push(citizen),
            Ok(None) => {}
            // A citizen record the edit would make invalid keeps what it holds; review
            // detection still flags the disagreement.
            Err(crate::review::ReviewError::Invalid(why)) => {
                tracing::warn!(%citizen, %why, "residence not updated on acceptance");
            }
            Err(e) => return Err(anyhow::Error::new(e)),
        }
    }
    Ok(changed)
}
