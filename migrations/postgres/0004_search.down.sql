DROP INDEX messages_unindexed;
DROP INDEX messages_search;
ALTER TABLE messages DROP COLUMN has_files;
ALTER TABLE messages DROP COLUMN search;
