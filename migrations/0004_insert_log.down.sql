-- As migrations/0003_folders.up.sql made it.
CREATE TRIGGER entries_insert AFTER INSERT ON entries
BEGIN
    UPDATE folders SET total = total + 1, unseen = unseen + (NEW.flags & 1 = 0)
    WHERE id = NEW.folder_id;
    INSERT INTO changes (owner, folder, uidvalidity, uid, entry_id, kind, flags)
    SELECT NEW.owner, f.name, f.uidvalidity, NEW.uid, NEW.id, 1, NEW.flags
    FROM folders f WHERE f.id = NEW.folder_id;
END;
