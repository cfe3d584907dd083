-- New values go back to the server's default (pglz unless configured);
-- values stored with lz4 stay readable as they are.
ALTER TABLE messages ALTER COLUMN raw SET COMPRESSION default;
