-- Raw messages compressed with lz4 where the server has it (issue 11,
-- performance). pglz compressing each 10 KB message as it was stored was
-- ~6% of PostgreSQL's CPU per delivery; lz4 does it in a fraction of that.
-- A server built without lz4 keeps pglz: the column's setting is only a
-- default for new values, and every stored value says how it was
-- compressed, so old pglz values read as before and nothing is rewritten.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
        ALTER TABLE messages ALTER COLUMN raw SET COMPRESSION lz4;
    END IF;
END $$;
