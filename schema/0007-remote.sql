-- kstage schema, version 7: a plan that follows a remote (the plan's
-- "remote"): where it is fetched from and how its fetches go.  Written
-- only by daemon/stages.c (the URL with the plan, the rest after each
-- fetch by the plan's fetch thread, daemon/remote.c).
ALTER TABLE plans ADD COLUMN remote_url TEXT;		-- NULL: no remote
ALTER TABLE plans ADD COLUMN fetch_state TEXT		-- NULL: not fetched yet
	CHECK (fetch_state IN ('ok', 'failing'));
ALTER TABLE plans ADD COLUMN fetch_error TEXT;		-- the last failure, capped
ALTER TABLE plans ADD COLUMN fetch_failures INTEGER NOT NULL DEFAULT 0
	CHECK (fetch_failures >= 0);			-- in a row; 0 after a success
ALTER TABLE plans ADD COLUMN failing_since INTEGER;	-- ms, first failure in a row
ALTER TABLE plans ADD COLUMN last_fetch_at INTEGER;	-- ms, the last fetch that ended
ALTER TABLE plans ADD COLUMN last_ok_at INTEGER;	-- ms, the last one that worked
ALTER TABLE plans ADD COLUMN next_fetch_at INTEGER;	-- ms, NULL: only on request
