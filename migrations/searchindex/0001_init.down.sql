DROP TABLE index_state;
DROP TABLE message_search;
