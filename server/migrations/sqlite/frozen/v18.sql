-- Frozen schema at user_version 18: the sqlite_master SQL of a database at that
-- version, printed by sync_core::store::schema::schema_sql. Never edit a released one.
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    units TEXT NOT NULL DEFAULT '[]',
    disabled INTEGER NOT NULL DEFAULT 0,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until_ms INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL
, display_name TEXT
    CHECK (length(display_name) BETWEEN 1 AND 100)) STRICT;
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    actor TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL DEFAULT '',
    revoked INTEGER NOT NULL DEFAULT 0,
    wipe_pending INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT '{}',
    created_ms INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX devices_user ON devices (user_id);
CREATE TABLE tokens (
    hash BLOB PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL
, ended INTEGER NOT NULL DEFAULT 0) STRICT;
CREATE INDEX tokens_device ON tokens (device_id);
CREATE INDEX tokens_user ON tokens (user_id);
CREATE TABLE records (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    unit TEXT NOT NULL,
    status TEXT,
    doc BLOB NOT NULL,
    heads BLOB NOT NULL,
    name_key TEXT NOT NULL DEFAULT '',
    id_number TEXT,
    findings TEXT NOT NULL DEFAULT '[]',
    updated_ms INTEGER NOT NULL
, doc_len INTEGER NOT NULL DEFAULT 0, lineage INTEGER NOT NULL DEFAULT 0, restricted INTEGER NOT NULL DEFAULT 0) STRICT;
CREATE INDEX records_unit ON records (unit);
CREATE INDEX records_name_key ON records (name_key);
CREATE INDEX records_id_number ON records (id_number);
CREATE TABLE changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    record TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'change',
    hash BLOB UNIQUE,
    bytes BLOB NOT NULL,
    unit TEXT NOT NULL,
    origin_device TEXT,
    received_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX changes_unit_seq ON changes (unit, seq);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    ts_ms INTEGER NOT NULL,
    user TEXT NOT NULL DEFAULT '',
    device TEXT NOT NULL DEFAULT '',
    action TEXT NOT NULL,
    records TEXT NOT NULL DEFAULT '[]',
    details TEXT NOT NULL DEFAULT '{}',
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL
, keyed INTEGER NOT NULL DEFAULT 0) STRICT;
CREATE INDEX audit_ts ON audit (ts_ms);
CREATE INDEX audit_user ON audit (user);
CREATE INDEX audit_device ON audit (device);
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
, captured_on TEXT) STRICT;
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
CREATE TABLE review_queue (
    record TEXT PRIMARY KEY,
    queued_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE login_attempts (
    username TEXT NOT NULL,
    address TEXT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    locked_until_ms INTEGER NOT NULL DEFAULT 0,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (username, address)
) STRICT, WITHOUT ROWID;
CREATE INDEX login_attempts_updated ON login_attempts (updated_ms);
CREATE TABLE actor_ids (
    actor TEXT PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices (id)
) STRICT, WITHOUT ROWID;
CREATE TABLE report_dossiers (
    record TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    procedure TEXT NOT NULL,
    unit TEXT NOT NULL,
    status TEXT NOT NULL,
    outcome TEXT NOT NULL,
    period_on TEXT NOT NULL,
    filed_on TEXT,
    due_on TEXT,
    decided_on TEXT,
    decision_days INTEGER,
    first_seen_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
, citizen TEXT, registration TEXT, expires_on TEXT) STRICT;
CREATE TABLE report_findings (
    record TEXT NOT NULL,
    code TEXT NOT NULL,
    kind TEXT NOT NULL,
    unit TEXT NOT NULL,
    first_seen_on TEXT NOT NULL, resolved_on TEXT,
    PRIMARY KEY (record, code)
) STRICT, WITHOUT ROWID;
CREATE TABLE device_health (
    device_id TEXT PRIMARY KEY REFERENCES devices (id),
    failures INTEGER NOT NULL DEFAULT 0,
    first_failure_ms INTEGER,
    last_failure_ms INTEGER,
    last_failure_status INTEGER
) STRICT, WITHOUT ROWID;
CREATE TABLE report_activity (
    day TEXT NOT NULL,
    "user" TEXT NOT NULL,
    metric TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (day, "user", metric)
) STRICT, WITHOUT ROWID;
CREATE TABLE report_record_origin (
    record TEXT PRIMARY KEY,
    creator TEXT NOT NULL,
    last_editor TEXT NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE report_citizens (
    record TEXT PRIMARY KEY,
    unit TEXT NOT NULL,
    status TEXT NOT NULL,
    turns_14_on TEXT,
    has_id_number INTEGER NOT NULL,
    card_issued_on TEXT,
    card_expires_on TEXT,
    card_due_age INTEGER,
    updated_ms INTEGER NOT NULL
, id_notified INTEGER NOT NULL DEFAULT 0, vneid_active INTEGER NOT NULL DEFAULT 0) STRICT, WITHOUT ROWID;
CREATE INDEX report_citizens_card ON report_citizens (unit, card_expires_on);
CREATE INDEX report_dossiers_citizen ON report_dossiers (citizen);
CREATE INDEX report_dossiers_registration ON report_dossiers (registration);
CREATE INDEX report_dossiers_expiry ON report_dossiers (expires_on);
CREATE INDEX changes_record_unit_seq_kind ON changes (record, unit, seq, kind);
CREATE INDEX report_dossiers_progress ON report_dossiers
    (unit, period_on, kind, procedure, outcome, decision_days, due_on, decided_on, filed_on);
CREATE INDEX report_dossiers_citizen_applied ON report_dossiers
    (citizen, kind, outcome, period_on);
CREATE INDEX report_dossiers_unit_status ON report_dossiers (unit, kind, status);
CREATE TABLE report_activity_month (
    month TEXT NOT NULL,
    "user" TEXT NOT NULL,
    metric TEXT NOT NULL,
    n INTEGER NOT NULL,
    max_day INTEGER NOT NULL,
    PRIMARY KEY (month, "user", metric)
) STRICT, WITHOUT ROWID;
CREATE INDEX report_citizens_coverage ON report_citizens
    (unit, status, turns_14_on, has_id_number, id_notified, vneid_active,
     card_issued_on, card_expires_on, card_due_age);
CREATE TABLE redacted_changes (
    record TEXT NOT NULL,
    hash BLOB NOT NULL,
    lineage INTEGER NOT NULL,
    PRIMARY KEY (record, hash)
) STRICT, WITHOUT ROWID;
CREATE TABLE record_redactions (
    record TEXT NOT NULL,
    lineage INTEGER NOT NULL,
    field TEXT NOT NULL,
    salt BLOB NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (record, lineage, hash)
) STRICT, WITHOUT ROWID;
CREATE INDEX report_findings_unit_code_days ON report_findings
    (unit, code, first_seen_on, resolved_on);
CREATE TABLE review_numbers (
    number TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (number, record)
) STRICT, WITHOUT ROWID;
CREATE INDEX review_numbers_record ON review_numbers (record);
CREATE TABLE sensitive_values (
    record TEXT NOT NULL,
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    written_by TEXT NOT NULL,
    device TEXT NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (record, field)
) STRICT, WITHOUT ROWID;
CREATE TABLE sensitive_writes (
    id TEXT PRIMARY KEY,
    record TEXT NOT NULL,
    field TEXT NOT NULL,
    value TEXT,
    written_by TEXT NOT NULL,
    device TEXT NOT NULL,
    written_ms INTEGER NOT NULL,
    applied_ms INTEGER NOT NULL,
    redacted INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX sensitive_writes_record ON sensitive_writes (record, applied_ms);
CREATE INDEX records_pull ON records (id, kind, unit, doc_len, restricted);
