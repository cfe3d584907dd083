-- Back to the index inside this file (0005-0010): an empty one, which the
-- backfill of that version fills with every message, newest first.
DROP TABLE search_index;
DROP TABLE message_seq;
DROP TRIGGER messages_search_gone;
DROP TABLE search_gone;
CREATE VIRTUAL TABLE message_search USING fts5(
    subject, sender, rcpts, body, files, tags,
    content = '', contentless_delete = 1,
    tokenize = 'ascii'
);
INSERT INTO message_search (message_search, rank) VALUES ('automerge', 8);
CREATE TRIGGER messages_search_delete AFTER DELETE ON messages
BEGIN
    DELETE FROM message_search WHERE rowid = OLD.id;
END;
CREATE TABLE search_backfill (below INTEGER NOT NULL);
INSERT INTO search_backfill (below) SELECT coalesce(max(id), 0) + 1 FROM messages;
