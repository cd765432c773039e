-- kstage schema, version 1: plans, stages, runs, steps, results, changes.
--
-- Times are milliseconds since the epoch.  Object ids (commits, trees) are
-- hex strings.  A result belongs to a run; a run's results are keyed, for
-- reuse, by (tree_id, profile_digest).

CREATE TABLE plans (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	path TEXT NOT NULL,
	repo TEXT NOT NULL,
	base TEXT NOT NULL,
	integration TEXT,
	profile TEXT NOT NULL,
	profile_digest TEXT NOT NULL,
	updated_at INTEGER NOT NULL
);

-- Position 0 is the plan's base; stages proper start at 1.
CREATE TABLE stages (
	id INTEGER PRIMARY KEY,
	plan_id INTEGER NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
	idx INTEGER NOT NULL,
	name TEXT NOT NULL,
	branch TEXT NOT NULL,
	title TEXT,
	head TEXT,			-- NULL while the branch does not resolve
	tree TEXT,
	stack_state TEXT NOT NULL DEFAULT 'unknown',
					-- ok | needs-rebase | missing | unknown
	stack_detail TEXT,
	missing_commit TEXT,		-- first commit of the stage below it lacks
	head_changed_at INTEGER,
	-- The comparison of the latest run of the head with the baseline.
	run_id INTEGER,			-- latest full run of head (any state)
	baseline_run_id INTEGER,
	verdict TEXT NOT NULL DEFAULT 'unknown',
					-- unknown | queued | running | waiting | green | red | error
	regressions INTEGER NOT NULL DEFAULT 0,
	fixed INTEGER NOT NULL DEFAULT 0,
	new_tests INTEGER NOT NULL DEFAULT 0,
	skipped INTEGER NOT NULL DEFAULT 0,
	known INTEGER NOT NULL DEFAULT 0,
	UNIQUE (plan_id, idx),
	UNIQUE (plan_id, name)
);

-- The stage's own commits (below..head, first-parent), oldest first.
CREATE TABLE stage_commits (
	stage_id INTEGER NOT NULL REFERENCES stages(id) ON DELETE CASCADE,
	seq INTEGER NOT NULL,
	commit_id TEXT NOT NULL,
	subject TEXT NOT NULL,
	author TEXT NOT NULL,
	PRIMARY KEY (stage_id, seq)
);

CREATE TABLE runs (
	id INTEGER PRIMARY KEY,
	plan_id INTEGER NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
	stage_id INTEGER REFERENCES stages(id) ON DELETE SET NULL,
	commit_id TEXT NOT NULL,
	tree_id TEXT NOT NULL,
	profile TEXT NOT NULL,
	profile_digest TEXT NOT NULL,
	reason TEXT NOT NULL,		-- change | manual | retry | confirm | bisect
	tests TEXT,			-- newline-separated subset; NULL = all
	bisection_id INTEGER,
	priority INTEGER NOT NULL DEFAULT 100,
	no_reuse INTEGER NOT NULL DEFAULT 0,
	reusable INTEGER NOT NULL DEFAULT 0,	-- the outcome may stand for its tree
	state TEXT NOT NULL,		-- queued | running | done | canceled | superseded
	verdict TEXT,			-- pass | fail | error (when done)
	boot_verdict TEXT,
	boot_line INTEGER,
	boot_text TEXT,
	failed_step TEXT,
	error TEXT,
	reused_from INTEGER REFERENCES runs(id) ON DELETE SET NULL,
	slot INTEGER,
	pgid INTEGER,
	token TEXT,			-- KSTAGE_RUN_TOKEN of the running attempt
	current_step TEXT,
	n_pass INTEGER NOT NULL DEFAULT 0,
	n_fail INTEGER NOT NULL DEFAULT 0,
	n_skip INTEGER NOT NULL DEFAULT 0,
	n_error INTEGER NOT NULL DEFAULT 0,
	queued_at INTEGER NOT NULL,
	started_at INTEGER,
	finished_at INTEGER,
	checkout_ms INTEGER,
	overhead_ms INTEGER
);
CREATE INDEX runs_key ON runs (tree_id, profile_digest, state);
CREATE INDEX runs_stage ON runs (stage_id, id);
CREATE INDEX runs_state ON runs (state, priority, id);

CREATE TABLE steps (
	run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	idx INTEGER NOT NULL,
	name TEXT NOT NULL,
	state TEXT NOT NULL,		-- pending | running | ok | failed | timeout | error | skipped
	exit_code INTEGER,
	signal INTEGER,
	started_at INTEGER,
	finished_at INTEGER,
	log TEXT,			-- relative to the artifact root
	log_bytes INTEGER NOT NULL DEFAULT 0,
	log_dropped INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (run_id, idx)
);

CREATE TABLE results (
	run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	test TEXT NOT NULL,
	status TEXT NOT NULL,		-- pass | fail | skip | error
	detail TEXT,
	line INTEGER,
	PRIMARY KEY (run_id, test)
) WITHOUT ROWID;
CREATE INDEX results_test ON results (test, run_id);

-- Per stage: every test whose status differs from the baseline, and every
-- failure covered by a known-failure entry.
CREATE TABLE changes (
	stage_id INTEGER NOT NULL REFERENCES stages(id) ON DELETE CASCADE,
	test TEXT NOT NULL,
	kind TEXT NOT NULL,		-- regression | missing | fixed | new | skipped | known
	before TEXT,
	after TEXT,
	detail TEXT,
	PRIMARY KEY (stage_id, test)
) WITHOUT ROWID;

-- State changes, in order, for live updates and the audit trail.
CREATE TABLE events (
	id INTEGER PRIMARY KEY,
	at INTEGER NOT NULL,
	kind TEXT NOT NULL,
	plan_id INTEGER,
	stage_id INTEGER,
	run_id INTEGER,
	bisection_id INTEGER,
	data TEXT
);
