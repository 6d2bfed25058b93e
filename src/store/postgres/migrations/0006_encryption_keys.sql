-- Encryption at rest (issue 13): the keys data in this database may be sealed under, by id
-- (core/field_cipher.h). A start whose --encryption-key-file lacks one of them is refused.
CREATE TABLE encryption_keys (
  key_id   text PRIMARY KEY,
  added_at bigint NOT NULL
);
