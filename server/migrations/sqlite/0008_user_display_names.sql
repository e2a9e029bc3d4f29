-- Version 8: users' display names.
--
-- users.display_name: the name people read for the user ("Nguyễn Thị Lan"), where the
-- account name (`username`, the login) is only a handle: phones show it next to the values
-- and history entries the user's devices wrote (the sync reply's actor directory,
-- server/src/directory.rs), the console in its header. NULL when the office set none (the
-- account name is shown instead). Written only through accounts::set_display_name (`ferry
-- user add|set --display-name`, the admin API), which stores it cleaned
-- (sync_core::model::clean_display_name: NFC, whitespace collapsed, no control or
-- bidirectional characters) and at most 100 characters; the CHECK keeps any other writer to
-- the length.
ALTER TABLE users ADD COLUMN display_name TEXT
    CHECK (length(display_name) BETWEEN 1 AND 100);
