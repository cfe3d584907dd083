ALTER TABLE entries ADD COLUMN msgid TEXT NOT NULL DEFAULT '';
UPDATE entries SET msgid = (SELECT m.msgid FROM messages m WHERE m.id = entries.message_id);
CREATE INDEX entries_msgid ON entries (folder_id, msgid) WHERE msgid <> '';
DROP INDEX messages_msgid;
ALTER TABLE messages DROP COLUMN msgid;
