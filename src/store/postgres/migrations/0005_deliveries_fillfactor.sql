-- An outcome rewrites its delivery row (status, attempts, next attempt). No index contains
-- those columns, so the new version can stay on the same page without touching any index (a
-- HOT update) — if the page has room: bench/cluster.sh saw 13 % of outcome updates HOT with
-- full pages (each of the others also wrote every index of deliveries). Pages written from now
-- on keep a fifth free for that.
ALTER TABLE deliveries SET (fillfactor = 80);
