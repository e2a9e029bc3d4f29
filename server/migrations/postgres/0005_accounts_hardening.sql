-- Server schema version 5 on PostgreSQL (../sqlite/0005_accounts_hardening.sql; translation
-- rules in 0001): the keyed audit chain (`audit.keyed`), login attempts counted per account
-- and client address before the password is checked, tokens that ended but still carry a
-- pending wipe order (`tokens.ended`), and every actor id ever registered.
--
-- One table more than SQLite: `audit_lock`, one row that every audit append locks
-- (`SELECT ... FOR UPDATE`) before it reads the chain's last row. SQLite has one writer, so
-- appends never race there; with several nodes on one PostgreSQL, two transactions could read
-- the same last row and both append "id + 1". With the lock they take turns: the second
-- waits until the first commits, and its next statement (READ COMMITTED: a new snapshot per
-- statement) sees the row the first appended. The chain stays one chain, in commit order;
-- audit.id's primary key still refuses a fork should anything bypass the lock. The lock is
-- held to the end of the transaction, so audited transactions append as their last step.
-- CockroachDB and YugabyteDB accept SELECT ... FOR UPDATE; the row is one hot spot there
-- (as on PostgreSQL), the price of one totally ordered chain.
ALTER TABLE audit ADD COLUMN keyed BOOLEAN NOT NULL DEFAULT FALSE;
CREATE TABLE audit_lock (
    id BIGINT PRIMARY KEY CHECK (id = 1)
);
INSERT INTO audit_lock (id) VALUES (1);
CREATE TABLE login_attempts (
    username TEXT NOT NULL,
    address TEXT NOT NULL,
    failures BIGINT NOT NULL DEFAULT 0,
    locked_until_ms BIGINT NOT NULL DEFAULT 0,
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (username, address)
);
CREATE INDEX login_attempts_updated ON login_attempts (updated_ms);
ALTER TABLE tokens ADD COLUMN ended BOOLEAN NOT NULL DEFAULT FALSE;
CREATE TABLE actor_ids (
    actor TEXT PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices (id)
);
INSERT INTO actor_ids (actor, device_id) SELECT actor, id FROM devices;
