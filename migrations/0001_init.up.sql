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

-- Per-folder totals, kept by the triggers below so that Count is one lookup
-- rather than a scan of the folder (18 ms for 100,000 entries).
CREATE TABLE folder_counts (
    owner  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    folder TEXT    NOT NULL,
    total  INTEGER NOT NULL,
    unseen INTEGER NOT NULL,
    PRIMARY KEY (owner, folder)
) WITHOUT ROWID;

CREATE TRIGGER entries_count_insert AFTER INSERT ON entries
BEGIN
    INSERT INTO folder_counts (owner, folder, total, unseen)
    VALUES (NEW.owner, NEW.folder, 1, NEW.seen = 0)
    ON CONFLICT (owner, folder) DO UPDATE
    SET total = total + 1, unseen = unseen + excluded.unseen;
END;

CREATE TRIGGER entries_count_delete AFTER DELETE ON entries
BEGIN
    UPDATE folder_counts
    SET total = total - 1, unseen = unseen - (OLD.seen = 0)
    WHERE owner = OLD.owner AND folder = OLD.folder;
END;

CREATE TRIGGER entries_count_seen AFTER UPDATE OF seen ON entries
WHEN OLD.seen <> NEW.seen
BEGIN
    UPDATE folder_counts
    SET unseen = unseen + (NEW.seen = 0) - (OLD.seen = 0)
    WHERE owner = NEW.owner AND folder = NEW.folder;
END;

-- An entry never changes owner, folder or message: the counts and the
-- message garbage collection rely on it.
CREATE TRIGGER entries_immutable BEFORE UPDATE OF owner, folder, message_id ON entries
WHEN OLD.owner <> NEW.owner OR OLD.folder <> NEW.folder OR OLD.message_id <> NEW.message_id
BEGIN
    SELECT RAISE(ABORT, 'entries: owner, folder and message_id are immutable');
END;

-- A message goes when its last entry goes, whichever way the entry went
-- (Delete, or the cascade of DeleteAccount), in the same transaction.
CREATE TRIGGER entries_gc_message AFTER DELETE ON entries
WHEN NOT EXISTS (SELECT 1 FROM entries WHERE message_id = OLD.message_id)
BEGIN
    DELETE FROM messages WHERE id = OLD.message_id;
END;
