-- kstage schema, version 4: every stored state is checked against its
-- name table (daemon/states.c and the enums of the pure modules), and the
-- gate gets a table of its own (written only by daemon/gate.c).
--
-- SQLite cannot add a CHECK to an existing column, so each table is
-- rebuilt: new table, copy, drop, rename (the migration runs with foreign
-- keys off and checks them before it commits, see db.c).

CREATE TABLE gates (
	plan_id INTEGER PRIMARY KEY REFERENCES plans(id) ON DELETE CASCADE,
	state TEXT NOT NULL DEFAULT 'unknown'
		CHECK (state IN ('unknown', 'current', 'can-advance', 'blocked',
				 'diverged')),
	detail TEXT,
	integration_head TEXT,		-- where the integration branch is
	stage_id INTEGER,		-- the highest green stage ...
	commit_id TEXT,			-- ... and its head
	updated_at INTEGER NOT NULL
);
INSERT INTO gates (plan_id, state, detail, integration_head, stage_id,
		   commit_id, updated_at)
	SELECT id, gate_state, gate_detail, integration_head, gate_stage_id,
	       gate_commit, updated_at FROM plans;

CREATE TABLE new_plans (
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
INSERT INTO new_plans SELECT id, name, path, repo, base, integration, profile,
	profile_digest, updated_at FROM plans;
DROP TABLE plans;
ALTER TABLE new_plans RENAME TO plans;

CREATE TABLE new_stages (
	id INTEGER PRIMARY KEY,
	plan_id INTEGER NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
	idx INTEGER NOT NULL,
	name TEXT NOT NULL,
	branch TEXT NOT NULL,
	title TEXT,
	head TEXT,
	tree TEXT,
	stack_state TEXT NOT NULL DEFAULT 'unknown'
		CHECK (stack_state IN ('ok', 'needs-rebase', 'missing', 'unknown')),
	stack_detail TEXT,
	missing_commit TEXT,
	head_changed_at INTEGER,
	run_id INTEGER,
	baseline_run_id INTEGER,
	verdict TEXT NOT NULL DEFAULT 'unknown'
		CHECK (verdict IN ('unknown', 'queued', 'running', 'waiting',
				   'green', 'red', 'error')),
	regressions INTEGER NOT NULL DEFAULT 0,
	fixed INTEGER NOT NULL DEFAULT 0,
	new_tests INTEGER NOT NULL DEFAULT 0,
	skipped INTEGER NOT NULL DEFAULT 0,
	known INTEGER NOT NULL DEFAULT 0,
	UNIQUE (plan_id, idx),
	UNIQUE (plan_id, name)
);
INSERT INTO new_stages SELECT * FROM stages;
DROP TABLE stages;
ALTER TABLE new_stages RENAME TO stages;

CREATE TABLE new_runs (
	id INTEGER PRIMARY KEY,
	plan_id INTEGER NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
	stage_id INTEGER REFERENCES stages(id) ON DELETE SET NULL,
	commit_id TEXT NOT NULL,
	tree_id TEXT NOT NULL,
	profile TEXT NOT NULL,
	profile_digest TEXT NOT NULL,
	reason TEXT NOT NULL
		CHECK (reason IN ('change', 'manual', 'retry', 'confirm', 'bisect')),
	tests TEXT,
	bisection_id INTEGER,
	priority INTEGER NOT NULL DEFAULT 100,
	no_reuse INTEGER NOT NULL DEFAULT 0,
	reusable INTEGER NOT NULL DEFAULT 0,
	state TEXT NOT NULL
		CHECK (state IN ('queued', 'running', 'done', 'canceled',
				 'superseded')),
	verdict TEXT CHECK (verdict IN ('pass', 'fail', 'error')),
	boot_verdict TEXT
		CHECK (boot_verdict IN ('clean', 'warning', 'hung', 'timeout', 'bug',
					'oops', 'kasan', 'panic')),
	boot_line INTEGER,
	boot_text TEXT,
	failed_step TEXT,
	error TEXT,
	reused_from INTEGER REFERENCES runs(id) ON DELETE SET NULL,
	slot INTEGER,
	pgid INTEGER,
	token TEXT,
	current_step TEXT,
	n_pass INTEGER NOT NULL DEFAULT 0,
	n_fail INTEGER NOT NULL DEFAULT 0,
	n_skip INTEGER NOT NULL DEFAULT 0,
	n_error INTEGER NOT NULL DEFAULT 0,
	queued_at INTEGER NOT NULL,
	started_at INTEGER,
	finished_at INTEGER,
	checkout_ms INTEGER,
	overhead_ms INTEGER,
	-- a finished run has a verdict; a queued or running one has none
	CHECK ((state = 'done') = (verdict IS NOT NULL))
);
INSERT INTO new_runs SELECT * FROM runs;
DROP TABLE runs;
ALTER TABLE new_runs RENAME TO runs;
CREATE INDEX runs_key ON runs (tree_id, profile_digest, state);
CREATE INDEX runs_stage ON runs (stage_id, id);
CREATE INDEX runs_state ON runs (state, priority, id);

CREATE TABLE new_steps (
	run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	idx INTEGER NOT NULL,
	name TEXT NOT NULL,
	state TEXT NOT NULL
		CHECK (state IN ('pending', 'running', 'ok', 'failed', 'timeout',
				 'error', 'skipped')),
	exit_code INTEGER,
	signal INTEGER,
	started_at INTEGER,
	finished_at INTEGER,
	log TEXT,
	log_bytes INTEGER NOT NULL DEFAULT 0,
	log_dropped INTEGER NOT NULL DEFAULT 0,
	console INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (run_id, idx)
);
INSERT INTO new_steps SELECT * FROM steps;
DROP TABLE steps;
ALTER TABLE new_steps RENAME TO steps;

CREATE TABLE new_results (
	run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	test TEXT NOT NULL,
	status TEXT NOT NULL CHECK (status IN ('pass', 'fail', 'skip', 'error')),
	detail TEXT,
	line INTEGER,
	PRIMARY KEY (run_id, test)
) WITHOUT ROWID;
INSERT INTO new_results SELECT * FROM results;
DROP TABLE results;
ALTER TABLE new_results RENAME TO results;
CREATE INDEX results_test ON results (test, run_id);

CREATE TABLE new_changes (
	stage_id INTEGER NOT NULL REFERENCES stages(id) ON DELETE CASCADE,
	test TEXT NOT NULL,
	kind TEXT NOT NULL
		CHECK (kind IN ('regression', 'missing', 'fixed', 'new', 'skipped',
				'known')),
	before TEXT CHECK (before IN ('pass', 'fail', 'skip', 'error')),
	after TEXT CHECK (after IN ('pass', 'fail', 'skip', 'error')),
	detail TEXT,
	PRIMARY KEY (stage_id, test)
) WITHOUT ROWID;
INSERT INTO new_changes SELECT * FROM changes;
DROP TABLE changes;
ALTER TABLE new_changes RENAME TO changes;

CREATE TABLE new_bisections (
	id INTEGER PRIMARY KEY,
	plan_id INTEGER NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
	stage_id INTEGER REFERENCES stages(id) ON DELETE SET NULL,
	reason TEXT NOT NULL CHECK (reason IN ('auto', 'manual')),
	good_commit TEXT NOT NULL,
	bad_commit TEXT NOT NULL,
	tests TEXT NOT NULL,
	state TEXT NOT NULL
		CHECK (state IN ('requested', 'confirming', 'searching', 'verifying',
				 'found', 'inconclusive', 'flaky', 'not-reproduced',
				 'canceled', 'error')),
	runs_per_step INTEGER NOT NULL DEFAULT 1,
	confirm_runs INTEGER NOT NULL DEFAULT 1,
	fail_rate REAL,
	confidence REAL,
	culprit TEXT,
	culprit_stage TEXT,
	range_good TEXT,
	range_bad TEXT,
	detail TEXT,
	rounds INTEGER NOT NULL DEFAULT 0,
	runs INTEGER NOT NULL DEFAULT 0,
	reused INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	finished_at INTEGER
);
INSERT INTO new_bisections SELECT * FROM bisections;
DROP TABLE bisections;
ALTER TABLE new_bisections RENAME TO bisections;
CREATE INDEX bisections_stage ON bisections (stage_id, id);

CREATE TABLE new_bisection_commits (
	bisection_id INTEGER NOT NULL REFERENCES bisections(id) ON DELETE CASCADE,
	seq INTEGER NOT NULL,
	commit_id TEXT NOT NULL,
	tree_id TEXT NOT NULL,
	subject TEXT NOT NULL,
	author TEXT NOT NULL,
	stage TEXT,
	boundary INTEGER NOT NULL DEFAULT 0,
	mark TEXT NOT NULL DEFAULT 'untested'
		CHECK (mark IN ('untested', 'pending', 'good', 'bad', 'skip')),
	PRIMARY KEY (bisection_id, seq)
);
INSERT INTO new_bisection_commits SELECT * FROM bisection_commits;
DROP TABLE bisection_commits;
ALTER TABLE new_bisection_commits RENAME TO bisection_commits;

CREATE TABLE new_bisection_runs (
	bisection_id INTEGER NOT NULL REFERENCES bisections(id) ON DELETE CASCADE,
	run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	seq INTEGER NOT NULL,
	phase TEXT NOT NULL CHECK (phase IN ('confirm', 'search', 'verify')),
	round INTEGER NOT NULL DEFAULT 0,
	verdict TEXT CHECK (verdict IN ('good', 'bad', 'skip')),
	PRIMARY KEY (bisection_id, run_id)
);
INSERT INTO new_bisection_runs SELECT * FROM bisection_runs;
DROP TABLE bisection_runs;
ALTER TABLE new_bisection_runs RENAME TO bisection_runs;
