-- Version 5: the keyed audit chain (`audit.keyed`: 0 for rows written before the audit key,
-- verified as the legacy SHA-256 chain), login attempts counted per account and client
-- address before the password is checked, tokens that ended but still carry a pending wipe
-- order (`tokens.ended`), and every actor id ever registered (actor ids are never reused).
ALTER TABLE audit ADD COLUMN keyed INTEGER NOT NULL DEFAULT 0;
CREATE TABLE login_attempts (
    username TEXT NOT NULL,
    address TEXT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    locked_until_ms INTEGER NOT NULL DEFAULT 0,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (username, address)
) STRICT, WITHOUT ROWID;
CREATE INDEX login_attempts_updated ON login_attempts (updated_ms);
ALTER TABLE tokens ADD COLUMN ended INTEGER NOT NULL DEFAULT 0;
CREATE TABLE actor_ids (
    actor TEXT PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices (id)
) STRICT, WITHOUT ROWID;
INSERT INTO actor_ids (actor, device_id) SELECT actor, id FROM devices;
