-- Back to two folders. Entries outside inbox and sent are deleted (with the
-- messages no other entry holds); flags other than \Seen, UIDs and
-- Message-IDs are dropped.
DROP TRIGGER entries_inserted ON entries;
DROP TRIGGER entries_updated ON entries;
DROP TRIGGER entries_deleted ON entries;
DROP TRIGGER entries_immutable ON entries;
DROP FUNCTION entries_inserted();
DROP FUNCTION entries_updated();
DROP FUNCTION entries_deleted();
DROP FUNCTION entries_immutable();
DROP TABLE changes;

DELETE FROM entries e USING folders f WHERE f.id = e.folder_id AND f.name NOT IN ('inbox', 'sent');

ALTER TABLE entries
    ADD COLUMN folder text,
    ADD COLUMN seen boolean NOT NULL DEFAULT false;
UPDATE entries e SET folder = f.name, seen = (e.flags & 1 = 1) FROM folders f WHERE f.id = e.folder_id;
ALTER TABLE entries
    ALTER COLUMN folder SET NOT NULL,
    ADD CONSTRAINT entries_folder_check CHECK (folder IN ('inbox', 'sent')),
    ADD CONSTRAINT entries_owner_fkey FOREIGN KEY (owner) REFERENCES accounts (id) ON DELETE CASCADE,
    DROP COLUMN folder_id,
    DROP COLUMN uid,
    DROP COLUMN flags,
    DROP COLUMN msgid;
DROP TABLE folders;
ALTER TABLE accounts DROP COLUMN last_uidvalidity;

CREATE INDEX entries_owner_folder_id ON entries (owner, folder, id);

-- As migrations/postgres/0001_init.up.sql made them.
CREATE TABLE folder_counts (
    owner  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    folder text   NOT NULL,
    total  bigint NOT NULL,
    unseen bigint NOT NULL,
    PRIMARY KEY (owner, folder)
);
INSERT INTO folder_counts (owner, folder, total, unseen)
SELECT owner, folder, count(*), count(*) FILTER (WHERE NOT seen) FROM entries GROUP BY owner, folder;

CREATE FUNCTION entries_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO folder_counts AS c (owner, folder, total, unseen)
    SELECT owner, folder, count(*), count(*) FILTER (WHERE NOT seen)
    FROM new_entries
    GROUP BY owner, folder
    ORDER BY owner, folder
    ON CONFLICT (owner, folder) DO UPDATE
    SET total = c.total + excluded.total, unseen = c.unseen + excluded.unseen;
    RETURN NULL;
END $$;
CREATE TRIGGER entries_count_insert AFTER INSERT ON entries
REFERENCING NEW TABLE AS new_entries
FOR EACH STATEMENT EXECUTE FUNCTION entries_count_insert();

CREATE FUNCTION entries_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE folder_counts
    SET total = total - 1, unseen = unseen - (NOT OLD.seen)::int
    WHERE owner = OLD.owner AND folder = OLD.folder;
    RETURN NULL;
END $$;
CREATE TRIGGER entries_count_delete AFTER DELETE ON entries
FOR EACH ROW EXECUTE FUNCTION entries_count_delete();

CREATE FUNCTION entries_count_seen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE folder_counts
    SET unseen = unseen + (NOT NEW.seen)::int - (NOT OLD.seen)::int
    WHERE owner = NEW.owner AND folder = NEW.folder;
    RETURN NULL;
END $$;
CREATE TRIGGER entries_count_seen AFTER UPDATE OF seen ON entries
FOR EACH ROW WHEN (OLD.seen IS DISTINCT FROM NEW.seen)
EXECUTE FUNCTION entries_count_seen();

CREATE FUNCTION entries_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'entries: owner, folder and message_id are immutable';
END $$;
CREATE TRIGGER entries_immutable BEFORE UPDATE OF owner, folder, message_id ON entries
FOR EACH ROW WHEN (OLD.owner <> NEW.owner OR OLD.folder <> NEW.folder OR OLD.message_id <> NEW.message_id)
EXECUTE FUNCTION entries_immutable();
