-- 010_reserved_for_follower.sql: a placeholder on branch lic2024 only, so that 012_license_2024.sql
-- applies (migrations are numbered without gaps). The lead deletes this
-- file at merge, where the real migration of this number takes its place.
SELECT 1;
