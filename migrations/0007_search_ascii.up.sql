-- The index's columns hold mail.SearchWords joined by single spaces: the
-- domain has already split the text into words and lower-cased them. FTS5's
-- 'ascii' tokenizer splits that at the spaces and keeps every non-ASCII
-- character inside its word, so it gives the same tokens as 'unicode61' did
-- for this input (and queries, made of the same words, match the same
-- way), at about 60% of its CPU per message: tokenizing was most of the
-- index's cost in the single writer. A tokenizer cannot be changed in
-- place: the table is made again, empty, and the store's background
-- backfill indexes every message again, newest first (search_backfill.below
-- set above the newest), while new mail is indexed as it arrives. Until it
-- is done, older messages are missing from search results.
DROP TABLE message_search;
CREATE VIRTUAL TABLE message_search USING fts5(
    subject, sender, rcpts, body, files, tags,
    content = '', contentless_delete = 1,
    tokenize = 'ascii'
);
UPDATE search_backfill SET below = (SELECT coalesce(max(id), 0) + 1 FROM messages);
