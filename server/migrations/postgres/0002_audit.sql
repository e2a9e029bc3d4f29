-- Server schema version 2 on PostgreSQL: the hash-chained audit trail
-- (../sqlite/0002_audit.sql; translation rules in 0001).
--
-- * `user` is a reserved word in PostgreSQL (and CockroachDB): the column keeps its name and
--   every query writes it quoted, "user".
-- * records and details stay TEXT, not JSONB: each row's hash covers their exact text, and
--   JSONB would reorder keys and drop whitespace, breaking `ferry audit verify`.
-- * id has no default on purpose. The chain is verified in id order, so ids must be handed
--   out in commit order with no gaps, which no sequence guarantees across nodes (the same
--   gap as the change feed, see unit_seq in 0001): the writer appends with id = last id + 1
--   and prev_hash = last hash inside its transaction, and the primary key makes a second
--   writer that read the same tail fail (and retry) instead of forking the chain.
CREATE TABLE audit (
    id BIGINT PRIMARY KEY,
    ts_ms BIGINT NOT NULL,
    "user" TEXT NOT NULL DEFAULT '',
    device TEXT NOT NULL DEFAULT '',
    action TEXT NOT NULL,
    records TEXT NOT NULL DEFAULT '[]',
    details TEXT NOT NULL DEFAULT '{}',
    prev_hash BYTEA NOT NULL,
    hash BYTEA NOT NULL
);
CREATE INDEX audit_ts ON audit (ts_ms);
CREATE INDEX audit_user ON audit ("user");
CREATE INDEX audit_device ON audit (device);
