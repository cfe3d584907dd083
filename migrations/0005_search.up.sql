-- Full-text search (issue 13). One index row per stored message (rowid =
-- messages.id), not per entry: a delivery to ten inboxes indexes its text
-- once, a move or copy (a new entry on the same message) needs no index
-- write, and the entries table filters by owner, folder, flags and date.
-- Each column holds mail.SearchWords joined by spaces (the store writes
-- mail.NewSearchDoc); tags holds "attachment" for has:attachment, and plain
-- words never search it. Contentless: the words are not stored twice, and
-- contentless_delete lets a row go by rowid.
CREATE VIRTUAL TABLE message_search USING fts5(
    subject, sender, rcpts, body, files, tags,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 0'
);

-- A message's index row goes with the message, however its last entry went
-- (Delete, Expunge, Move's removal, DeleteFolder, an account's cascade).
CREATE TRIGGER messages_search_delete AFTER DELETE ON messages
BEGIN
    DELETE FROM message_search WHERE rowid = OLD.id;
END;

-- Messages stored before this migration are indexed by the store in the
-- background (decoding bodies needs Go, not SQL), newest first: every
-- message with id < below is still to do. New messages are indexed as they
-- are stored.
CREATE TABLE search_backfill (below INTEGER NOT NULL);
INSERT INTO search_backfill (below) SELECT coalesce(max(id), 0) + 1 FROM messages;
