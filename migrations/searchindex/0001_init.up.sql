-- The full-text index file (mailroom.search.db), kept by the SQLite
-- store's indexer (adapters/sqlite/index.go). Everything in it is derived
-- from the database file: it can be deleted, and is built again.
--
-- One row per stored message (rowid = messages.id), not per entry: a
-- delivery to ten inboxes indexes its text once, a move or copy needs no
-- index write, and the entries filter by owner, folder, flags and date.
-- Each column holds mail.SearchWords joined by single spaces: the domain
-- has already split the text into words and lower-cased them, so FTS5's
-- 'ascii' tokenizer only splits at the spaces (non-ASCII characters stay
-- inside their word). tags holds "attachment" for has:attachment; plain
-- words never search it. Contentless: the words are not stored twice, and
-- contentless_delete lets a row go by rowid.
CREATE VIRTUAL TABLE message_search USING fts5(
    subject, sender, rcpts, body, files, tags,
    content = '', contentless_delete = 1,
    tokenize = 'ascii'
);
-- Segments merge at 8 per level, not FTS5's 4: about half as many merges
-- per posting written, for up to twice as many segments for a query.
INSERT INTO message_search (message_search, rank) VALUES ('automerge', 8);

-- The indexer's progress, one row, committed with the rows it describes:
-- every message with an id up to upto is indexed (or deleted), and so is
-- every one from below on; those under below were stored before this file
-- was made, and the backfill indexes them newest first. gone is the
-- highest search_gone.seq whose message's row this index has removed.
-- token is the database file's search_index.token this index was built
-- for.
CREATE TABLE index_state (
    token TEXT    NOT NULL,
    upto  INTEGER NOT NULL,
    below INTEGER NOT NULL,
    gone  INTEGER NOT NULL
);
