-- Search vectors built in Go (issue 11): from this version on the store
-- writes messages.search as a tsvector literal of mail.SearchWords (no text
-- parser; a gap of one position between fields, so a phrase never spans
-- two) and queries with tsquery literals. Vectors written by 0004's
-- to_tsvector differ where the parser split or changed a word, so they are
-- rebuilt: search_version 1 marks them (a constant default costs no row
-- rewrite), new rows take 2. The backfill rebuilds version 1 rows newest
-- first and sets 2; until then the old vector still answers, so no message
-- drops out of results meanwhile. messages_unindexed finds both kinds of work.
ALTER TABLE messages ADD COLUMN search_version smallint NOT NULL DEFAULT 1;
ALTER TABLE messages ALTER COLUMN search_version SET DEFAULT 2;
DROP INDEX messages_unindexed;
CREATE INDEX messages_unindexed ON messages (id) WHERE search IS NULL OR search_version < 2;
-- A vector is stored as it is: pglz gave up on every to_tsvector vector of
-- a 10 KB letter (under 25% saved) after trying, ~0.2 ms of CPU a delivery
-- for nothing. (lz4 would save ~10% but not every server is built with it.)
ALTER TABLE messages ALTER COLUMN search SET STORAGE EXTERNAL;
