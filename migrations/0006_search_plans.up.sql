-- Search without a word (is:flagged, is:unread, after:, -word alone) walks
-- the owner's entries newest first, and a word query checks the owner's
-- newest entries for moved or copied ones (adapters/sqlite/search.go):
-- both are a backward range of this index, which carries what they test
-- (the message and the flags) so that few rows need the table.
CREATE INDEX entries_owner_id ON entries (owner, id, message_id, flags);
