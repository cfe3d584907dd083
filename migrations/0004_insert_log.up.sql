-- A new entry's folder counts and change-log row are written by the store,
-- not by a trigger (issue 10): the store bumps total and unseen in the
-- UPDATE that gives the UIDs out (one per folder of a delivery, not one per
-- entry) and logs all entries of a write in one INSERT ... SELECT. Run once
-- per entry, this trigger was a third of a 10-recipient delivery's CPU.
-- Flag changes and removals keep their triggers.
DROP TRIGGER entries_insert;
