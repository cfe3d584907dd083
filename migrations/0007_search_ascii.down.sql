-- Back to 0005's tokenizer; the backfill indexes every message again.
DROP TABLE message_search;
CREATE VIRTUAL TABLE message_search USING fts5(
    subject, sender, rcpts, body, files, tags,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 0'
);
UPDATE search_backfill SET below = (SELECT coalesce(max(id), 0) + 1 FROM messages);
