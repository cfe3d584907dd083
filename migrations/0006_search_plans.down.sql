DROP INDEX entries_owner_id;
