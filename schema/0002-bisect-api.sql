-- kstage schema, version 2: bisections, API tokens, acknowledged
-- failures, and the gate state of each plan.

-- The gate: where the integration branch is, and the highest stage whose
-- head (and every stage below) is green on a consistent stack.
ALTER TABLE plans ADD COLUMN integration_head TEXT;
ALTER TABLE plans ADD COLUMN gate_stage_id INTEGER;
ALTER TABLE plans ADD COLUMN gate_commit TEXT;
ALTER TABLE plans ADD COLUMN gate_state TEXT NOT NULL DEFAULT 'unknown';
	-- unknown | current | can-advance | blocked | diverged
ALTER TABLE plans ADD COLUMN gate_detail TEXT;

-- A search for the first commit that broke some tests.  The range is the
-- first-parent line from good_commit (exclusive) to bad_commit; the
-- commits are in bisection_commits, every run it made in bisection_runs.
CREATE TABLE bisections (
	id INTEGER PRIMARY KEY,
	plan_id INTEGER NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
	stage_id INTEGER REFERENCES stages(id) ON DELETE SET NULL,
	reason TEXT NOT NULL,		-- auto | manual
	good_commit TEXT NOT NULL,
	bad_commit TEXT NOT NULL,
	tests TEXT NOT NULL,		-- newline-separated failing tests
	state TEXT NOT NULL,
		-- requested | confirming | searching | verifying |
		-- found | inconclusive | flaky | not-reproduced | canceled | error
	runs_per_step INTEGER NOT NULL DEFAULT 1,
	confirm_runs INTEGER NOT NULL DEFAULT 1,
	fail_rate REAL,			-- observed on the bad head while confirming
	confidence REAL,
	culprit TEXT,			-- the first bad commit (found)
	culprit_stage TEXT,		-- the stage whose commits hold it
	range_good TEXT,		-- inconclusive: last good ...
	range_bad TEXT,			-- ... first bad
	detail TEXT,
	rounds INTEGER NOT NULL DEFAULT 0,
	runs INTEGER NOT NULL DEFAULT 0,	-- runs that really ran
	reused INTEGER NOT NULL DEFAULT 0,	-- runs answered from earlier results
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	finished_at INTEGER
);
CREATE INDEX bisections_stage ON bisections (stage_id, id);

CREATE TABLE bisection_commits (
	bisection_id INTEGER NOT NULL REFERENCES bisections(id) ON DELETE CASCADE,
	seq INTEGER NOT NULL,		-- 0 = oldest
	commit_id TEXT NOT NULL,
	tree_id TEXT NOT NULL,
	subject TEXT NOT NULL,
	author TEXT NOT NULL,
	stage TEXT,			-- name of the stage that owns the commit
	boundary INTEGER NOT NULL DEFAULT 0,	-- 1 if it is a stage head
	mark TEXT NOT NULL DEFAULT 'untested',
					-- untested | pending | good | bad | skip
	PRIMARY KEY (bisection_id, seq)
);

CREATE TABLE bisection_runs (
	bisection_id INTEGER NOT NULL REFERENCES bisections(id) ON DELETE CASCADE,
	run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	seq INTEGER NOT NULL,		-- commit index; -1 = the good baseline
	phase TEXT NOT NULL,		-- confirm | search | verify
	round INTEGER NOT NULL DEFAULT 0,
	verdict TEXT,			-- good | bad | skip (NULL while it runs)
	PRIMARY KEY (bisection_id, run_id)
);

-- API tokens: only a hash of the secret is stored.
CREATE TABLE tokens (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	hash TEXT NOT NULL UNIQUE,	-- hex SHA-256 of the secret
	created_at INTEGER NOT NULL,
	last_used_at INTEGER,
	revoked INTEGER NOT NULL DEFAULT 0
);

-- Failures acknowledged through the API: treated like the profile's
-- known failures for one plan.
CREATE TABLE acks (
	id INTEGER PRIMARY KEY,
	plan_id INTEGER NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
	test TEXT NOT NULL,		-- fnmatch pattern on result names
	reason TEXT NOT NULL,
	until_stage TEXT,		-- counted again from this stage on
	created_by TEXT,		-- token name
	created_at INTEGER NOT NULL,
	UNIQUE (plan_id, test)
);
