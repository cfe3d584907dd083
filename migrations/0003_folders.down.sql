-- Back to two folders. Entries outside inbox and sent (drafts, trash and the
-- owner's own folders) cannot be represented there: they are deleted, with
-- the messages no other entry holds. Flags other than \Seen, UIDs and
-- Message-IDs are dropped.
DROP TRIGGER entries_insert;
DROP TRIGGER entries_flags;
DROP TRIGGER entries_delete;
DROP TRIGGER entries_immutable;
DROP TRIGGER entries_gc_message;
DROP TABLE changes;

CREATE TABLE entries_old (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    owner      INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    message_id INTEGER NOT NULL REFERENCES messages(id),
    folder     TEXT    NOT NULL CHECK (folder IN ('inbox', 'sent')),
    rcpts      TEXT    NOT NULL,
    seen       INTEGER NOT NULL DEFAULT 0 CHECK (seen IN (0, 1)),
    received   INTEGER NOT NULL
);
INSERT INTO entries_old (id, owner, message_id, folder, rcpts, seen, received)
SELECT e.id, e.owner, e.message_id, f.name, e.rcpts, e.flags & 1, e.received
FROM entries e JOIN folders f ON f.id = e.folder_id
WHERE f.name IN ('inbox', 'sent')
ORDER BY e.id;
DELETE FROM sqlite_sequence WHERE name = 'entries_old';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'entries_old', max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'entries'), 0),
                          coalesce((SELECT max(id) FROM entries_old), 0));
DROP TABLE entries;
ALTER TABLE entries_old RENAME TO entries;
DELETE FROM message_previews WHERE message_id NOT IN (SELECT message_id FROM entries);
DELETE FROM messages WHERE id NOT IN (SELECT message_id FROM entries);
DROP TABLE folders;
ALTER TABLE accounts DROP COLUMN last_uidvalidity;

-- As migrations/0001_init.up.sql made them.
CREATE INDEX entries_owner_folder_id ON entries (owner, folder, id);
CREATE INDEX entries_message_id ON entries (message_id);

CREATE TABLE folder_counts (
    owner  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    folder TEXT    NOT NULL,
    total  INTEGER NOT NULL,
    unseen INTEGER NOT NULL,
    PRIMARY KEY (owner, folder)
) WITHOUT ROWID;
INSERT INTO folder_counts (owner, folder, total, unseen)
SELECT owner, folder, count(*), sum(seen = 0) FROM entries GROUP BY owner, folder;

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

CREATE TRIGGER entries_immutable BEFORE UPDATE OF owner, folder, message_id ON entries
WHEN OLD.owner <> NEW.owner OR OLD.folder <> NEW.folder OR OLD.message_id <> NEW.message_id
BEGIN
    SELECT RAISE(ABORT, 'entries: owner, folder and message_id are immutable');
END;

CREATE TRIGGER entries_gc_message AFTER DELETE ON entries
WHEN NOT EXISTS (SELECT 1 FROM entries WHERE message_id = OLD.message_id)
BEGIN
    DELETE FROM messages WHERE id = OLD.message_id;
END;
