-- Version 4: the durable queue of records awaiting review detection after their commit.
CREATE TABLE review_queue (
    record TEXT PRIMARY KEY,
    queued_ms INTEGER NOT NULL
) WITHOUT ROWID;
