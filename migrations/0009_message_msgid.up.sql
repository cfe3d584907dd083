-- A message's Message-ID is the message's, not each entry's (issue 10):
-- every entry of one message carries the same one, so entries_msgid held
-- it once per recipient and a delivery to ten inboxes wrote ten index
-- rows, each on its own folder's leaf page: a fifth of the pages a
-- 10-recipient delivery wrote. It moves to messages, indexed once per
-- message. Append's dedup ("an entry of this folder with this
-- Message-ID") joins the few messages with that Message-ID to their
-- entries instead.
ALTER TABLE messages ADD COLUMN msgid TEXT NOT NULL DEFAULT '';
UPDATE messages SET msgid = coalesce(
    (SELECT e.msgid FROM entries e WHERE e.message_id = messages.id AND e.msgid <> '' LIMIT 1), '');
CREATE INDEX messages_msgid ON messages (msgid) WHERE msgid <> '';
DROP INDEX entries_msgid;
ALTER TABLE entries DROP COLUMN msgid;
