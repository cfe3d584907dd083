-- Accounts. AUTOINCREMENT so that a deleted account's id is never handed to
-- a new account: sessions and tokens carry account ids.
CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The domain lower-cases names already; NOCASE makes the unique index
    -- enforce case-insensitive uniqueness anyway.
    username      TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT    NOT NULL,
    created       INTEGER NOT NULL -- unix nanoseconds, UTC
);

-- Messages: raw bytes stored once, however many entries hold them. raw is the
-- last column on purpose: SQLite reads a row's columns in order, and a large
-- blob spills into overflow pages, so the metadata columns must come first
-- for List to read them without walking the blob.
CREATE TABLE messages (
    id        INTEGER PRIMARY KEY,
    size      INTEGER NOT NULL,
    from_addr TEXT    NOT NULL,
    subject   TEXT    NOT NULL,
    received  INTEGER NOT NULL, -- unix nanoseconds, UTC
    raw       BLOB    NOT NULL
);

-- Entries: one copy of a message in one owner's folder. AUTOINCREMENT so ids
-- are never reused: clients page and resume watching by id.
CREATE TABLE entries (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    owner      INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    message_id INTEGER NOT NULL REFERENCES messages(id),
    folder     TEXT    NOT NULL CHECK (folder IN ('inbox', 'sent')),
    rcpts      TEXT    NOT NULL, -- JSON array of addresses
    seen       INTEGER NOT NULL DEFAULT 0 CHECK (seen IN (0, 1)),
    received   INTEGER NOT NULL  -- unix nanoseconds, UTC
);

-- "Newest 50 in a folder before id X" is a range scan of this index, already
-- in order; its leading column also serves the owner foreign key's cascade.
CREATE INDEX entries_owner_folder_id ON entries (owner, folder, id);
-- Finds the remaining holders of a message when an entry goes.
CREATE INDEX entries_message_id ON entries (message_id);
-- Unseen counts read only this (small) partial index.
CREATE INDEX entries_unseen ON entries (owner, folder) WHERE seen = 0;

-- A message goes when its last entry goes, whichever way the entry went
-- (Delete, or the cascade of DeleteAccount), in the same transaction.
CREATE TRIGGER entries_gc_message AFTER DELETE ON entries
WHEN NOT EXISTS (SELECT 1 FROM entries WHERE message_id = OLD.message_id)
BEGIN
    DELETE FROM messages WHERE id = OLD.message_id;
END;
