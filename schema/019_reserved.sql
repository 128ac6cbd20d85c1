-- 019_reserved.sql: a placeholder (no statement). Migration 019 is
-- another branch's number (if it needs one); migrations must run without
-- gaps, so this branch, which adds 020, holds the number meanwhile. At the
-- merge: drop this file if the other branch brings a 019, keep it if not.
SELECT 1;
