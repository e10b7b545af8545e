-- Schema parity (SQLite). Never edited after landing.
--
-- Nothing to change here: PostgreSQL's 0009 makes its append-only tables refuse TRUNCATE, which
-- SQLite does not have (deleting every row fires the delete triggers of 0004 and is refused). Kept so
-- both backends have the same version numbers.
SELECT 1;
