-- The audit log (issue 13): one row per change made through the API, written in the same
-- transaction as the change. Who: the token's id and kind (never the token); what: the action,
-- its target, the names of the fields it changed (JSON array) and a few non-secret parameters
-- (JSON object); when; from which address. Rows outlive their targets (no foreign keys) and
-- are deleted only by retention (--audit-retention), never updated.
CREATE TABLE audit_log (
  id             TEXT PRIMARY KEY,      -- aud_<ulid>: time-sortable, the listing's cursor
  company_id     TEXT,                  -- NULL: a change of no company's (a custom event type)
  action         TEXT NOT NULL,         -- endpoint.updated, token.revoked, …
  target_id      TEXT NOT NULL,
  actor_kind     TEXT NOT NULL,         -- operator | company
  actor_token_id TEXT NOT NULL,
  client_address TEXT NOT NULL,
  changes        TEXT NOT NULL,         -- ["url","headers"]: names, never values
  details        TEXT NOT NULL,
  created_at     INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX audit_log_company ON audit_log(company_id, id);
CREATE INDEX audit_log_target ON audit_log(target_id, id);
-- Append-only: a row is never rewritten (a bug that tried would fail its whole transaction).
CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit_log rows cannot be changed');
END;
