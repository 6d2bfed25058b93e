-- A company's own retention (shorter than the server's --retention), in milliseconds; NULL:
-- the server's.
ALTER TABLE companies ADD COLUMN retention_ms bigint;
