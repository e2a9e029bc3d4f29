//! The review queue: what no machine should decide alone goes to a person.
//!
//! Automerge never loses a concurrent value, and no single device sees every record. After
//! every accepted push the server looks at the records the push touched (and their relations)
//! and opens **review items** where a human must decide ([`detect`]). Detection runs after
//! the push is committed, from a durable queue written in the push's transaction
//! ([`queue`]); items appear within a fraction of a second:
//!
//! | type | when |
//! |---|---|
//! | `field_conflict` | a field marked `review` in the schema (identity, residence, household membership) holds concurrent values |
//! | `status_conflict` | the `status` field holds concurrent values (e.g. `accepted` vs `withdrawn`) |
//! | `edit_during_withdrawal` | a record reads `withdrawn` and another device edited it concurrently with the withdrawal |
//! | `duplicate_id_number` | two live citizen records carry the same ID number, or one carries as its old CMND number or an earlier ID number (`previous_id_numbers`) a number the other carries (`review_numbers`, schema version 16) |
//! | `duplicate_name_dob` | two live citizen records share the normalised name, date of birth and unit (and do not both have ID numbers) |
//! | `two_permanent_residences` | a citizen has two active accepted permanent registrations, or one that disagrees with the citizen's own permanent residence unit |
//! | `household_head` | an active household with members has no head or more than one |
//! | `rule_finding` | a legal rule across records fails (`sync_core::model::rules::related_findings`, `deceased_vs_records`): an extension or removal naming a missing registration, one of the wrong procedure or of another citizen; a minor's registration without a guardian's consent; an application disagreeing with its citizen; a dossier for a deceased citizen, or a deceased citizen still registered; a minor household head while an adult member exists; a citizen and its household disagreeing on membership or relationship; a temporary registration inside the commune of the citizen's permanent residence (each unit read as of its capture day); an accepted registration of a citizen with no ID number; a deceased citizen still temporarily registered; a living citizen with more than one open card application. One item per record and finding code; `details` holds the code and message |
//!
//! An admin resolves an item ([`resolve`]) by choosing one of the competing values, entering a
//! new one, merging two duplicate records, or dismissing it with a reason. Every resolution
//! that changes data is an Automerge change authored by the admin's own server-side actor,
//! appended to the change log like an accepted push, so it reaches every device and clears
//! the conflict there too. The item keeps who resolved it, when, what was chosen and what lost.
//!
//! The module is split into [`store`] (tables, queries, the per-record index), [`detect`]
//! (finding items) and [`resolve`] (applying decisions). Interfaces live elsewhere: the JSON
//! API in `routes::review_api`, the console in `routes::console`, the CLI in `cli_review`.

pub mod detect;
pub mod queue;
pub mod resolve;
pub mod store;

#[cfg(test)]
mod tests;

use std::fmt;

use serde::{Deserialize, Serialize};
use sync_core::model::Value;
use uuid::Uuid;

pub use detect::detect;
pub use resolve::{Action, ReviewError, resolve};
pub use store::{Counts, Filter, count_items, get_item, list_items};

/// The schema of the review queue and the console sessions (server migration 3,
/// `server/migrations/sqlite/0003_review_queue.sql`).
///
/// - `review_items`: one row per item. `key` names what the item is about (e.g.
///   `rec:<record>:field:<field>`); at most one *open* item per key. `signature` names the
///   exact situation (the change hashes or record ids involved), so that a dismissed or
///   resolved situation is not opened again while nothing new happens.
/// - `review_links`: which records each item concerns (for "items of this record").
/// - `review_index`: what detection needs to know about every record without loading its
///   document: ID number, name key, date of birth, the citizen a declaration is about, …
/// - `review_members`: household membership (household, citizen), for moving memberships on
///   a merge.
/// - `review_actors`: each admin's server-side device (a row in `devices` with its own
///   Automerge actor id) that authors their resolutions.
/// - `console_sessions`: web console sessions (cookie token hash, CSRF token, expiry).
pub const SCHEMA_SQL: &str = include_str!("../../migrations/sqlite/0003_review_queue.sql");

/// What kind of problem an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemType {
    /// Concurrent values in a reviewed field.
    FieldConflict,
    /// Concurrent values in `status`.
    StatusConflict,
    /// An edit concurrent with a withdrawal.
    EditDuringWithdrawal,
    /// Two citizen records with the same ID number.
    DuplicateIdNumber,
    /// Two citizen records with the same normalised name, date of birth and unit.
    DuplicateNameDob,
    /// A citizen with two permanent residences.
    TwoPermanentResidences,
    /// A household with no head or several.
    HouseholdHead,
    /// A legal rule across records fails (a data-quality finding that needs other records).
    RuleFinding,
}

impl ItemType {
    /// Every type, in display order.
    pub const ALL: [ItemType; 8] = [
        ItemType::FieldConflict,
        ItemType::StatusConflict,
        ItemType::EditDuringWithdrawal,
        ItemType::DuplicateIdNumber,
        ItemType::DuplicateNameDob,
        ItemType::TwoPermanentResidences,
        ItemType::HouseholdHead,
        ItemType::RuleFinding,
    ];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemType::FieldConflict => "field_conflict",
            ItemType::StatusConflict => "status_conflict",
            ItemType::EditDuringWithdrawal => "edit_during_withdrawal",
            ItemType::DuplicateIdNumber => "duplicate_id_number",
            ItemType::DuplicateNameDob => "duplicate_name_dob",
            ItemType::TwoPermanentResidences => "two_permanent_residences",
            ItemType::HouseholdHead => "household_head",
            ItemType::RuleFinding => "rule_finding",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<ItemType> {
        ItemType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Whether this is a duplicate-person item (resolved by merging).
    pub fn is_duplicate(self) -> bool {
        matches!(
            self,
            ItemType::DuplicateIdNumber | ItemType::DuplicateNameDob
        )
    }

    /// Vietnamese label.
    pub fn label_vi(self) -> &'static str {
        match self {
            ItemType::FieldConflict => "Xung đột dữ liệu",
            ItemType::StatusConflict => "Xung đột trạng thái",
            ItemType::EditDuringWithdrawal => "Sửa đồng thời với rút hồ sơ",
            ItemType::DuplicateIdNumber => "Trùng số định danh",
            ItemType::DuplicateNameDob => "Trùng họ tên và ngày sinh",
            ItemType::TwoPermanentResidences => "Hai nơi thường trú",
            ItemType::HouseholdHead => "Chủ hộ không hợp lệ",
            ItemType::RuleFinding => "Dữ liệu trái quy định",
        }
    }

    /// English label.
    pub fn label_en(self) -> &'static str {
        match self {
            ItemType::FieldConflict => "Field conflict",
            ItemType::StatusConflict => "Status conflict",
            ItemType::EditDuringWithdrawal => "Edit during withdrawal",
            ItemType::DuplicateIdNumber => "Duplicate ID number",
            ItemType::DuplicateNameDob => "Duplicate name and birth date",
            ItemType::TwoPermanentResidences => "Two permanent residences",
            ItemType::HouseholdHead => "Household head",
            ItemType::RuleFinding => "Rule across records",
        }
    }
}

impl fmt::Display for ItemType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    /// Waiting for an admin.
    Open,
    /// Decided (by an admin, or closed automatically when the problem went away).
    Resolved,
    /// Dismissed by an admin with a reason.
    Dismissed,
}

impl ItemStatus {
    /// Every status.
    pub const ALL: [ItemStatus; 3] = [
        ItemStatus::Open,
        ItemStatus::Resolved,
        ItemStatus::Dismissed,
    ];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Open => "open",
            ItemStatus::Resolved => "resolved",
            ItemStatus::Dismissed => "dismissed",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<ItemStatus> {
        ItemStatus::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl fmt::Display for ItemStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One of the competing values of an item, with who wrote it, from which device, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    /// The value (for duplicates, residences and household heads: a record or citizen id).
    pub value: Value,
    /// The record this candidate stands for, when it is a record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<Uuid>,
    /// Whether this is the value devices currently read (Automerge's deterministic winner).
    #[serde(default)]
    pub winner: bool,
    /// Hex of the Automerge actor that wrote it.
    pub actor: String,
    /// Hex of the change that wrote it.
    pub change: String,
    /// When it was written (the device's clock), ms since the Unix epoch.
    pub time_ms: i64,
    /// The device that sent the change, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// That device's name, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_name: Option<String>,
    /// The officer (user) the device belongs to, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Anything else worth showing (e.g. the fields an edit changed).
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub detail: serde_json::Value,
}

/// A review item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Item id.
    pub id: i64,
    /// What kind of problem.
    #[serde(rename = "type")]
    pub item_type: ItemType,
    /// Open, resolved or dismissed.
    pub status: ItemStatus,
    /// Kind of the (first) record concerned.
    pub kind: String,
    /// Unit of the (first) record concerned, for filtering.
    pub unit: String,
    /// Records concerned, the primary one first.
    pub records: Vec<Uuid>,
    /// The field concerned (a path such as `members.<id>.relationship`), if any.
    pub field: Option<String>,
    /// The competing values.
    pub candidates: Vec<Candidate>,
    /// Extra facts about the situation.
    pub details: serde_json::Value,
    /// When the item was opened (ms).
    pub created_ms: i64,
    /// When it was last refreshed (ms).
    pub updated_ms: i64,
    /// Who resolved or dismissed it (`None` when open or closed automatically).
    pub resolved_by: Option<String>,
    /// When (ms).
    pub resolved_ms: Option<i64>,
    /// What was decided: action, chosen value, the values that lost, the changes written.
    pub resolution: Option<serde_json::Value>,
}
