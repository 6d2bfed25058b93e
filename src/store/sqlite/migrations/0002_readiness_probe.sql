-- /readyz, while writes fail, probes with a write of its own (SqliteStore::Ping): a row
-- inserted and deleted in one transaction. Always empty.
CREATE TABLE readiness_probe (id INTEGER PRIMARY KEY, data BLOB NOT NULL);
