-- NOTIFY leaves the writing transaction (issue 11, performance). A
-- transaction that has queued a notification takes a database-wide lock at
-- commit and holds it until the commit is over, WAL flush included, so every
-- write that NOTIFYed queued behind every other one's fsync: with 8
-- connections a 2-core host did ~240 deliveries/s, its sessions waiting on
-- Lock:object and IO:WALSync. The change-log triggers no longer NOTIFY; the
-- store announces each write just after its COMMIT, in a transaction of its
-- own that does not wait for the WAL (adapters/postgres, announce), and every
-- feed listener also polls the newest id and seq as a backstop for a host that
-- died between the two.

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
    RETURN NULL;
END $$;
