-- Server schema version 8 on PostgreSQL: users' display names
-- (../sqlite/0008_user_display_names.sql, which explains the column). `length` counts
-- characters on both engines.
ALTER TABLE users ADD COLUMN display_name TEXT
    CHECK (length(display_name) BETWEEN 1 AND 100);
