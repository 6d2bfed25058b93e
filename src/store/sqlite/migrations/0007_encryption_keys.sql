-- Encryption at rest (issue 13): the keys data in this database may be sealed under, by id
-- (core/field_cipher.h). A start whose --encryption-key-file lacks one of them is refused.
CREATE TABLE encryption_keys (
  key_id   TEXT PRIMARY KEY,
  added_at INTEGER NOT NULL
);
