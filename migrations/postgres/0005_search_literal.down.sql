ALTER TABLE messages ALTER COLUMN search SET STORAGE EXTENDED;
DROP INDEX messages_unindexed;
CREATE INDEX messages_unindexed ON messages (id) WHERE search IS NULL;
ALTER TABLE messages DROP COLUMN search_version;
