ALTER TABLE entries ADD COLUMN msgid TEXT NOT NULL DEFAULT '';
UPDATE entries SET msgid = (SELECT p.msgid FROM message_previews p WHERE p.message_id = entries.message_id)
WHERE message_id IN (SELECT message_id FROM message_previews WHERE msgid <> '');
CREATE INDEX entries_msgid ON entries (folder_id, msgid) WHERE msgid <> '';
DROP INDEX message_previews_msgid;
DELETE FROM message_previews WHERE preview = '';
ALTER TABLE message_previews DROP COLUMN msgid;
