//! The limits that bound the work one request can cause. `docs/protocol.md` §5.1 is the
//! normative list; the server and the phone read them from here.

/// Most operations one Automerge change may hold. A record's creation is ≈ 25 operations, a
/// household with 50 members ≈ 150; an officer's edit is a handful.
pub const MAX_OPS_PER_CHANGE: usize = 10_000;

/// Most operations all changes of one sync request may hold together (the reference replica
/// pushes at most 256 KiB of changes, which is far below this).
pub const MAX_OPS_PER_PUSH: usize = 100_000;

/// Most Automerge objects (maps) one push may create in one record: the `members` map and
/// one map per member.
pub const MAX_NEW_OBJECTS: usize = 256;

/// Most objects (maps) a record document may hold at once.
pub const MAX_OBJECTS: usize = 1_024;

/// Deepest nesting of objects below the root map the schema has: `members` (1) → one
/// member's entry (2).
pub const MAX_DEPTH: usize = 2;

/// Largest record document, in bytes of its uncompressed save (what a snapshot on the wire
/// holds). Equal to the default reply budget, so with the default budget every entry fits.
pub const MAX_RECORD_BYTES: usize = 512 * 1024;

/// Largest change, in bytes once inflated (a compressed change chunk is inflated with this
/// limit before Automerge sees it): no change larger than a whole record can be accepted.
pub const MAX_CHANGE_BYTES: usize = MAX_RECORD_BYTES;

/// Longest text of a root key (`id`, `kind`, `unit`) and of a member key (a citizen id).
pub const MAX_KEY_CHARS: usize = 64;
