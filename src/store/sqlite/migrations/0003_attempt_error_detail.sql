-- hookd's own words on an attempt (curl's error, the SSRF guard's reason) apart from the
-- receiver's: response_body only ever holds what a receiver sent. Earlier rows without an
-- answer (no status) held hookd's words in response_body: moved.
ALTER TABLE attempts ADD COLUMN error_detail TEXT NOT NULL DEFAULT '';
UPDATE attempts SET error_detail = CAST(response_body AS TEXT), response_body = ''
  WHERE status_code IS NULL AND error IS NOT NULL AND length(response_body) > 0;
