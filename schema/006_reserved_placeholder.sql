-- 006_reserved_placeholder.sql: TEMPORARY, branch classes only. Migration numbers must run
-- without gaps; 006..008 belong to other branches (being merged), and this
-- branch's parts are 009 and 010. The lead drops this file at the merge.
SELECT 1;
