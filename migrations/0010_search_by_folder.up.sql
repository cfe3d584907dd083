-- entries_owner_id (0006) goes (issue 10): it ordered an owner's entries
-- across folders for search, and every delivery paid for it, a leaf page
-- written per recipient per commit: about a sixth of the pages a
-- 10-recipient delivery wrote. Search now walks the owner's folders one by
-- one in entries_folder_id, which gains the message id so those walks read
-- no table rows, and merges them (adapters/sqlite/search.go).
DROP INDEX entries_owner_id;
DROP INDEX entries_folder_id;
CREATE INDEX entries_folder_id ON entries (folder_id, id, uid, flags, message_id);
