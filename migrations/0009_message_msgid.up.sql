-- A message's Message-ID is the message's, not each entry's (issue 10):
-- every entry of one message carries the same one, so entries_msgid held
-- it once per recipient and a delivery to ten inboxes wrote ten index
-- rows, each on its own folder's leaf page: a fifth of the pages a
-- 10-recipient delivery wrote. It moves to message_previews, the side
-- table of small per-message fields that every metadata read already
-- joins, indexed once per message. Not to messages: ALTER TABLE ADD
-- COLUMN would put it after raw, which every read of it would then walk
-- (see 0002), and filling it would rewrite every message's blob. A
-- message has a row when it has a preview or a Message-ID. Append's dedup
-- ("an entry of this folder with this Message-ID") goes from the messages
-- with that Message-ID to their entries in the folder.
ALTER TABLE message_previews ADD COLUMN msgid TEXT NOT NULL DEFAULT '';
INSERT INTO message_previews (message_id, preview, msgid)
SELECT message_id, '', max(msgid) FROM entries WHERE msgid <> '' GROUP BY message_id
ON CONFLICT (message_id) DO UPDATE SET msgid = excluded.msgid;
CREATE INDEX message_previews_msgid ON message_previews (msgid) WHERE msgid <> '';
DROP INDEX entries_msgid;
-- Copies the entries table once (its rows are small: no message bytes).
ALTER TABLE entries DROP COLUMN msgid;
