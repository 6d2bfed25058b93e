-- Listing filters (issues 14, 15): events of one employee (?subject=) and of one type (?type=,
-- and deliveries' ?event_type=) are found by seeking these, newest first, instead of walking
-- every event of the company. Events are never updated: these cost ingestion one b-tree
-- append each, and outcome writes nothing (deliveries keep no index on `status`).
CREATE INDEX events_subject ON events(company_id, subject, id);
CREATE INDEX events_type ON events(company_id, type, id);
