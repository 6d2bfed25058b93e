-- The request headers hookd sent on each attempt (issue 15), shown beside the receiver's
-- answer: a JSON object, the values of an endpoint's custom headers redacted
-- (core/sent_headers.h). Attempts recorded before: '{}'.
ALTER TABLE attempts ADD COLUMN request_headers TEXT NOT NULL DEFAULT '{}';
