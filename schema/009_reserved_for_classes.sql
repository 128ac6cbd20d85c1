-- 009_reserved_for_classes.sql: a placeholder on branch audit only, so that 011_accountability.sql
-- applies (migrations are numbered without gaps). The lead deletes this
-- file at merge, where the real migration of this number takes its place.
SELECT 1;
