-- Back to 0002's triggers, which NOTIFY inside the writing transaction.

CREATE OR REPLACE FUNCTION entries_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE folders f SET total = f.total + c.n, unseen = f.unseen + c.u
    FROM (SELECT folder_id, count(*) AS n, count(*) FILTER (WHERE flags & 1 = 0) AS u
          FROM new_entries GROUP BY folder_id) c
    WHERE f.id = c.folder_id;
    INSERT INTO changes (owner, folder, uidvalidity, uid, entry_id, kind, flags)
    SELECT e.owner, f.name, f.uidvalidity, e.uid, e.id, 1, e.flags
    FROM new_entries e JOIN folders f ON f.id = e.folder_id
    ORDER BY e.id;
    IF FOUND THEN
        PERFORM pg_notify('mailroom_changes', '');
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION entries_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE folders f SET unseen = f.unseen + c.u
    FROM (SELECT n.folder_id, sum((n.flags & 1 = 0)::int - (o.flags & 1 = 0)::int) AS u
          FROM new_entries n JOIN old_entries o ON o.id = n.id
          WHERE n.flags <> o.flags GROUP BY n.folder_id) c
    WHERE f.id = c.folder_id AND c.u <> 0;
    INSERT INTO changes (owner, folder, uidvalidity, uid, entry_id, kind, flags)
    SELECT n.owner, f.name, f.uidvalidity, n.uid, n.id, 2, n.flags
    FROM new_entries n JOIN old_entries o ON o.id = n.id JOIN folders f ON f.id = n.folder_id
    WHERE n.flags <> o.flags
    ORDER BY n.id;
    IF FOUND THEN
        PERFORM pg_notify('mailroom_changes', '');
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION entries_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE folders f SET total = f.total - c.n, unseen = f.unseen - c.u
    FROM (SELECT folder_id, count(*) AS n, count(*) FILTER (WHERE flags & 1 = 0) AS u
          FROM old_entries GROUP BY folder_id) c
    WHERE f.id = c.folder_id;
    INSERT INTO changes (owner, folder, uidvalidity, uid, entry_id, kind, flags)
    SELECT e.owner, f.name, f.uidvalidity, e.uid, e.id, 3, e.flags
    FROM old_entries e JOIN folders f ON f.id = e.folder_id
    ORDER BY e.id;
    IF FOUND THEN
        PERFORM pg_notify('mailroom_changes', '');
    END IF;
    RETURN NULL;
END $$;
