-- The full-text index moves out of this file into its own (issue 13):
-- mailroom.search.db next to it, written by the store's indexer, not the
-- writer. Indexing a 10 KB message costs about what the rest of its
-- delivery does, and in one SQLite file every write waits for the one
-- writer: with the index here, a delivery's COMMIT carried it and the
-- index took a third of the submission rate. In a file of its own it is
-- written beside the deliveries, on another core, moments after their
-- COMMIT; a search first waits for the index to hold every message
-- committed before it began, so a message is still findable once its 250
-- is sent. The index file holds nothing that is not derived from this
-- one: deleted, it is built again (adapters/sqlite/index.go).
DROP TRIGGER messages_search_delete;
DROP TABLE message_search;
DROP TABLE search_backfill;

-- A deleted message's index row is removed by the indexer: the trigger
-- leaves its id here (deletions are rarer than deliveries, and a row is a
-- few bytes), and the indexer deletes the row from the index, then these.
-- Until then, the entries join keeps it out of every result: a message
-- without entries matches nothing. seq numbers the deletions for good
-- (AUTOINCREMENT: sqlite_sequence keeps the highest): the index records
-- the highest it has purged, and an index that has purged more than the
-- database ever had (the database is an older copy, put back) is built
-- again.
CREATE TABLE search_gone (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id  INTEGER NOT NULL
);
CREATE TRIGGER messages_search_gone AFTER DELETE ON messages
BEGIN
    INSERT INTO search_gone (id) VALUES (OLD.id);
END;

-- Message ids are given out from here, never twice, in the order of their
-- commits (a deleted newest message's id would be taken again by SQLite's
-- own choice, max + 1, while the index may still hold its row), whichever
-- process writes. An index whose progress is past next (it has seen ids
-- this database has not given out: the database is an older copy, put
-- back) is built again.
CREATE TABLE message_seq (next INTEGER NOT NULL);
INSERT INTO message_seq (next) SELECT coalesce(max(id), 0) + 1 FROM messages;

-- Ties an index file to this database: the index records the token it was
-- built for, and the store builds the index again when they differ (an
-- index file that belongs to another database). A backup's copy gets a
-- token of its own.
CREATE TABLE search_index (token TEXT NOT NULL);
INSERT INTO search_index (token) VALUES (lower(hex(randomblob(16))));
