DROP TABLE search_backfill;
DROP TRIGGER messages_search_delete;
DROP TABLE message_search;
