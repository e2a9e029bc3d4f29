-- Server schema version 4 on PostgreSQL: the durable queue of records awaiting review
-- detection after their commit (../sqlite/0004_review_detection_queue.sql; translation rules
-- in 0001).
CREATE TABLE review_queue (
    record TEXT PRIMARY KEY,
    queued_ms BIGINT NOT NULL
);
