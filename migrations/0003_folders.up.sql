-- Folders become real (issue 12): every account has inbox, sent, drafts and
-- trash plus folders of its own; every entry has a UID in its folder and IMAP
-- flags; a change log records every new entry, flag change and removal.

-- The last UIDVALIDITY given to any folder of the account: a new folder gets
-- max(now in seconds, this + 1), so a name deleted and created again never
-- shows an old value (RFC 9051 §2.3.1.1).
ALTER TABLE accounts ADD COLUMN last_uidvalidity INTEGER NOT NULL DEFAULT 0;

-- Folders. total and unseen are kept by the entries triggers below (they
-- replace folder_counts), uidnext by the store as it gives UIDs out.
-- AUTOINCREMENT: a folder id is never reused, and the change log and the
-- entries refer to folders by id.
CREATE TABLE folders (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    owner       INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    -- UTF-8, as mail.ParseFolder normalised it; compared byte for byte.
    name        TEXT    NOT NULL,
    special     TEXT    NOT NULL DEFAULT '' CHECK (special IN ('', 'inbox', 'sent', 'drafts', 'trash')),
    uidvalidity INTEGER NOT NULL CHECK (uidvalidity BETWEEN 1 AND 4294967295),
    uidnext     INTEGER NOT NULL DEFAULT 1 CHECK (uidnext BETWEEN 1 AND 4294967296),
    total       INTEGER NOT NULL DEFAULT 0,
    unseen      INTEGER NOT NULL DEFAULT 0,
    UNIQUE (owner, name)
);

-- The special folders of every existing account, with UIDVALIDITY from now.
INSERT INTO folders (owner, name, special, uidvalidity)
SELECT a.id, s.name, s.name, CAST(strftime('%s', 'now') AS INTEGER) + s.n
FROM accounts a CROSS JOIN (
    SELECT 'inbox' AS name, 0 AS n UNION ALL SELECT 'sent', 1
    UNION ALL SELECT 'drafts', 2 UNION ALL SELECT 'trash', 3
) s
ORDER BY a.id, s.n;
UPDATE accounts SET last_uidvalidity = CAST(strftime('%s', 'now') AS INTEGER) + 3;

-- Entries are rebuilt: SQLite cannot drop the old CHECK on folder. An entry
-- now points at its folder by id (a rename touches no entry), carries its
-- UID there, its flags (mail.Flags: 1 is \Seen, so the old seen column is
-- flags as it is), and the message's Message-ID for the Sent dedup of
-- APPEND (empty for entries stored before this migration: reading it needs
-- Go). owner stays for the ownership checks; folders cascade the account's
-- deletion.
DROP TRIGGER entries_count_insert;
DROP TRIGGER entries_count_delete;
DROP TRIGGER entries_count_seen;
DROP TRIGGER entries_immutable;
DROP TRIGGER entries_gc_message;

CREATE TABLE entries_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    owner      INTEGER NOT NULL,
    folder_id  INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    uid        INTEGER NOT NULL,
    message_id INTEGER NOT NULL REFERENCES messages(id),
    rcpts      TEXT    NOT NULL, -- JSON array of addresses
    flags      INTEGER NOT NULL DEFAULT 0,
    received   INTEGER NOT NULL, -- unix nanoseconds, UTC
    msgid      TEXT    NOT NULL DEFAULT ''
);

-- UIDs in id order, per folder, from 1.
INSERT INTO entries_new (id, owner, folder_id, uid, message_id, rcpts, flags, received)
SELECT e.id, e.owner, f.id,
       row_number() OVER (PARTITION BY f.id ORDER BY e.id),
       e.message_id, e.rcpts, e.seen, e.received
FROM entries e JOIN folders f ON f.owner = e.owner AND f.name = e.folder
ORDER BY e.id;

-- Keep the highest id ever handed out (AUTOINCREMENT's promise: clients
-- page and resume watching by id), not only the highest one left.
DELETE FROM sqlite_sequence WHERE name = 'entries_new';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'entries_new', max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'entries'), 0),
                          coalesce((SELECT max(id) FROM entries_new), 0));

DROP TABLE entries;
ALTER TABLE entries_new RENAME TO entries;
DROP TABLE folder_counts;

UPDATE folders SET
    total   = (SELECT count(*) FROM entries WHERE folder_id = folders.id),
    unseen  = (SELECT count(*) FROM entries WHERE folder_id = folders.id AND flags & 1 = 0),
    uidnext = 1 + (SELECT count(*) FROM entries WHERE folder_id = folders.id);

-- A folder's entries by UID: SELECT's UID map, FETCH by UID, and the rule
-- that a UID is given once per folder.
CREATE UNIQUE INDEX entries_folder_uid ON entries (folder_id, uid);
-- "Newest 50 in a folder before id X" is a backward range scan of this one.
CREATE INDEX entries_folder_id ON entries (folder_id, id, uid, flags);
-- Finds the remaining holders of a message when an entry goes.
CREATE INDEX entries_message_id ON entries (message_id);
-- APPEND to Sent: is this Message-ID there already?
CREATE INDEX entries_msgid ON entries (folder_id, msgid) WHERE msgid <> '';

-- The change log: one row per entry that entered a folder (kind 1), changed
-- flags (2) or left it (3), written by the triggers below in the
-- transaction of the change. The folder's name and UIDVALIDITY are copied
-- as they were then. Only the newest rows are kept (the store prunes).
CREATE TABLE changes (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    owner       INTEGER NOT NULL,
    folder      TEXT    NOT NULL,
    uidvalidity INTEGER NOT NULL,
    uid         INTEGER NOT NULL,
    entry_id    INTEGER NOT NULL,
    kind        INTEGER NOT NULL CHECK (kind IN (1, 2, 3)),
    flags       INTEGER NOT NULL
);

CREATE TRIGGER entries_insert AFTER INSERT ON entries
BEGIN
    UPDATE folders SET total = total + 1, unseen = unseen + (NEW.flags & 1 = 0)
    WHERE id = NEW.folder_id;
    INSERT INTO changes (owner, folder, uidvalidity, uid, entry_id, kind, flags)
    SELECT NEW.owner, f.name, f.uidvalidity, NEW.uid, NEW.id, 1, NEW.flags
    FROM folders f WHERE f.id = NEW.folder_id;
END;

CREATE TRIGGER entries_flags AFTER UPDATE OF flags ON entries
WHEN OLD.flags <> NEW.flags
BEGIN
    UPDATE folders SET unseen = unseen + (NEW.flags & 1 = 0) - (OLD.flags & 1 = 0)
    WHERE id = NEW.folder_id;
    INSERT INTO changes (owner, folder, uidvalidity, uid, entry_id, kind, flags)
    SELECT NEW.owner, f.name, f.uidvalidity, NEW.uid, NEW.id, 2, NEW.flags
    FROM folders f WHERE f.id = NEW.folder_id;
END;

-- An entry whose folder went already (an account deleted) logs nothing.
CREATE TRIGGER entries_delete AFTER DELETE ON entries
BEGIN
    UPDATE folders SET total = total - 1, unseen = unseen - (OLD.flags & 1 = 0)
    WHERE id = OLD.folder_id;
    INSERT INTO changes (owner, folder, uidvalidity, uid, entry_id, kind, flags)
    SELECT OLD.owner, f.name, f.uidvalidity, OLD.uid, OLD.id, 3, OLD.flags
    FROM folders f WHERE f.id = OLD.folder_id;
END;

-- An entry never changes owner, folder, UID or message (a move is a new
-- entry): the counts, the UID rules and the message garbage collection rely
-- on it.
CREATE TRIGGER entries_immutable BEFORE UPDATE OF owner, folder_id, uid, message_id ON entries
WHEN OLD.owner <> NEW.owner OR OLD.folder_id <> NEW.folder_id OR OLD.uid <> NEW.uid
  OR OLD.message_id <> NEW.message_id
BEGIN
    SELECT RAISE(ABORT, 'entries: owner, folder_id, uid and message_id are immutable');
END;

-- A message goes when its last entry goes, whichever way the entry went.
CREATE TRIGGER entries_gc_message AFTER DELETE ON entries
WHEN NOT EXISTS (SELECT 1 FROM entries WHERE message_id = OLD.message_id)
BEGIN
    DELETE FROM messages WHERE id = OLD.message_id;
END;
