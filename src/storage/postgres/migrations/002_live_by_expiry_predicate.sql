-- "This user's live reservations" must use reservations_live_by_user. With statistics taken while
-- nothing was live (a quiet shop before its sale), both partial indexes look equally cheap to the
-- planner, and it could pick the expiry index and filter every live reservation by user: 20 ms a
-- batch in the middle of a sale with a million finished reservations behind it. The extra
-- predicate keeps the expiry index for queries that bound expires_at (the due scans, which the
-- strict comparison implies it for) and out of the per-user lookups, which never mention it.
DROP INDEX reservations_live_by_expiry;
CREATE INDEX reservations_live_by_expiry ON reservations (expires_at) WHERE status = 'RESERVED' AND expires_at IS NOT NULL;
