-- Message previews (mail.Preview: the start of the text body on one line),
-- one row per message that has one; a message without a row has preview ''.
-- Messages stored before this migration have none: computing a preview needs
-- Go, not SQL.
--
-- A side table, not a column of messages: ALTER TABLE ADD COLUMN appends after
-- raw, and to read a column stored after a blob that spilled into overflow
-- pages SQLite walks the whole overflow chain. With preview after raw, List
-- of the newest 50 one-MiB messages went from 0.4 ms to 110 ms (BenchmarkList
-- LargeRaw). Here a preview costs one more rowid lookup per listed entry.
CREATE TABLE message_previews (
    -- The message's rowid as this table's rowid: the lookup is one b-tree
    -- search, and the row goes with its message (the message goes by the
    -- entries_gc_message trigger; foreign keys are on in every connection).
    message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    preview    TEXT NOT NULL
);
