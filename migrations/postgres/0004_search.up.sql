-- Full-text search (issue 13): one tsvector per stored message, not per
-- entry (a delivery to ten inboxes indexes its text once; a move or copy
-- needs no index write; the row goes with its message). The store writes it
-- from mail.NewSearchDoc: subject weight A, sender B, To/Cc C, body and file
-- names D, each as mail.SearchWords through the 'simple' configuration (no
-- stemming, no stop words: both stores match the same words). from:, to:
-- and subject: are weight-restricted query lexemes. NULL is a message stored
-- before this migration: the store indexes those in the background (bodies
-- need Go to decode), newest first, found by messages_unindexed.
ALTER TABLE messages ADD COLUMN search tsvector;
ALTER TABLE messages ADD COLUMN has_files boolean NOT NULL DEFAULT false;
CREATE INDEX messages_search ON messages USING gin (search);
CREATE INDEX messages_unindexed ON messages (id) WHERE search IS NULL;
