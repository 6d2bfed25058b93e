-- The version of what an admin edits (config, secrets): the ETag of GET …/endpoints/{id},
-- checked by PATCH's If-Match and by every config write (a conditional UPDATE), so that no
-- edit undoes another. What hookd changes itself (status, health) does not count.
ALTER TABLE endpoints ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
