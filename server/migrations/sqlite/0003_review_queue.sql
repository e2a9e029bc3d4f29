-- Server schema version 3: the review queue and console sessions (see server/src/review/mod.rs).
CREATE TABLE review_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    key TEXT NOT NULL,
    signature TEXT NOT NULL,
    kind TEXT NOT NULL,
    unit TEXT NOT NULL,
    records TEXT NOT NULL DEFAULT '[]',
    field TEXT,
    candidates TEXT NOT NULL DEFAULT '[]',
    details TEXT NOT NULL DEFAULT '{}',
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    resolved_by TEXT,
    resolved_ms INTEGER,
    resolution TEXT
) STRICT;
CREATE UNIQUE INDEX review_items_open_key ON review_items (key) WHERE status = 'open';
CREATE INDEX review_items_key_signature ON review_items (key, signature);
CREATE INDEX review_items_queue ON review_items (status, unit, created_ms);
CREATE TABLE review_links (
    record TEXT NOT NULL,
    item INTEGER NOT NULL REFERENCES review_items (id),
    PRIMARY KEY (record, item)
) STRICT, WITHOUT ROWID;
CREATE TABLE review_index (
    record TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    unit TEXT NOT NULL,
    status TEXT,
    id_number TEXT,
    name_key TEXT,
    date_of_birth TEXT,
    citizen_id TEXT,
    procedure TEXT,
    address TEXT,
    address_unit TEXT,
    from_date TEXT,
    to_date TEXT,
    merged_into TEXT
) STRICT;
CREATE INDEX review_index_id_number ON review_index (id_number) WHERE id_number IS NOT NULL;
CREATE INDEX review_index_person ON review_index (name_key, date_of_birth, unit);
CREATE INDEX review_index_citizen ON review_index (citizen_id) WHERE citizen_id IS NOT NULL;
CREATE INDEX review_index_merged_into ON review_index (merged_into) WHERE merged_into IS NOT NULL;
CREATE TABLE review_members (
    household TEXT NOT NULL,
    citizen TEXT NOT NULL,
    relationship TEXT,
    PRIMARY KEY (citizen, household)
) STRICT, WITHOUT ROWID;
CREATE INDEX review_members_household ON review_members (household);
CREATE TABLE review_actors (
    user_id INTEGER PRIMARY KEY REFERENCES users (id),
    device_id TEXT NOT NULL REFERENCES devices (id)
) STRICT;
CREATE TABLE console_sessions (
    token_hash BLOB PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    csrf TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX console_sessions_user ON console_sessions (user_id);
