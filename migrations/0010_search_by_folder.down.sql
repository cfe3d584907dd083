DROP INDEX entries_folder_id;
CREATE INDEX entries_folder_id ON entries (folder_id, id, uid, flags);
CREATE INDEX entries_owner_id ON entries (owner, id, message_id, flags);
