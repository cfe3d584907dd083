-- Back to FTS5's default automerge (4).
INSERT INTO message_search (message_search, rank) VALUES ('automerge', 4);
