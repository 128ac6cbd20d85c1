-- TEMPORARY, branch page only. Migration numbers must run without gaps;
-- 006 and 007 belong to other branches (being merged), and this branch's
-- part is 008_overview.sql. The lead drops this file at the merge.
SELECT 1;
