-- A fifth of each page (0005) held the new versions of about 7 of its 29 delivery rows, but
-- every delivery is rewritten at least once (its outcome): bench/delivery.sh saw 45 % of the
-- outcome updates HOT, and each of the others wrote all four indexes of deliveries, at the
-- right-hand edge that every insert also writes (~55 µs per update with three nodes). Half of
-- each page free holds one new version of every row on it; pruning frees the older ones.
ALTER TABLE deliveries SET (fillfactor = 50);
