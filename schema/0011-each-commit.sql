-- kstage schema, version 11: every commit of a stage is built and checked
-- (the profile's "each_commit", daemon/each.h).
--
-- A commit run is a run (reason 'commit') of only some steps: its "steps"
-- column names them (NULL for every other run: all of the profile's).
-- Its outcomes are kept apart from the runs' results, keyed the way they
-- are reused: a build by (tree, profile digest), checkpatch by (commit,
-- profile digest), since a commit's message counts there.  All three new
-- tables are written only by daemon/each.c.
--
-- The runs table is rebuilt for the new reason (SQLite cannot change a
-- CHECK), as 0004 did: new table, copy, drop, rename, with foreign keys
-- off and checked before the commit (db.c).

CREATE TABLE new_runs (
	id INTEGER PRIMARY KEY,
	plan_id INTEGER NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
	stage_id INTEGER REFERENCES stages(id) ON DELETE SET NULL,
	commit_id TEXT NOT NULL,
	tree_id TEXT NOT NULL,
	profile TEXT NOT NULL,
	profile_digest TEXT NOT NULL,
	reason TEXT NOT NULL
		CHECK (reason IN ('change', 'manual', 'retry', 'confirm', 'bisect',
				  'commit')),
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
	steps TEXT,			-- commit runs: the steps to run, one per line
	CHECK ((state = 'done') = (verdict IS NOT NULL))
);
INSERT INTO new_runs SELECT *, NULL FROM runs;
DROP TABLE runs;
ALTER TABLE new_runs RENAME TO runs;
CREATE INDEX runs_key ON runs (tree_id, profile_digest, state);
CREATE INDEX runs_stage ON runs (stage_id, id);
CREATE INDEX runs_state ON runs (state, priority, id);

-- The commits of a stage's head that are checked (the newest
-- each_commit_max of below..head, first-parent), oldest first; seq 0 is
-- the parent of the oldest (built only, as the baseline of its warnings).
CREATE TABLE each_commits (
	stage_id INTEGER NOT NULL REFERENCES stages(id) ON DELETE CASCADE,
	seq INTEGER NOT NULL CHECK (seq >= 0),
	commit_id TEXT NOT NULL,
	tree_id TEXT NOT NULL,
	subject TEXT NOT NULL,
	checks TEXT NOT NULL,		-- what is checked: "build", "checkpatch", one per line
	head TEXT NOT NULL,		-- the stage head they were listed for
	total INTEGER NOT NULL,		-- the stage's own commits, checked or not
	PRIMARY KEY (stage_id, seq)
) WITHOUT ROWID;

-- One build of a tree by a commit run, and the compiler warnings in its log.
CREATE TABLE each_builds (
	tree_id TEXT NOT NULL,
	profile_digest TEXT NOT NULL,
	run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	status TEXT NOT NULL CHECK (status IN ('pass', 'fail', 'error')),
	warnings TEXT NOT NULL,		-- the warning lines, one per line (capped)
	n_warnings INTEGER NOT NULL,
	detail TEXT,			-- why it failed: the log's last line
	at INTEGER NOT NULL,
	PRIMARY KEY (tree_id, profile_digest)
) WITHOUT ROWID;

-- One checkpatch of a commit by a commit run.
CREATE TABLE each_checkpatch (
	commit_id TEXT NOT NULL,
	profile_digest TEXT NOT NULL,
	run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	status TEXT NOT NULL CHECK (status IN ('pass', 'warn', 'fail', 'error')),
	errors INTEGER NOT NULL,
	warnings INTEGER NOT NULL,
	checks INTEGER NOT NULL,
	lines TEXT NOT NULL,		-- the ERROR:/WARNING:/CHECK: lines (capped)
	detail TEXT,			-- why it could not run
	at INTEGER NOT NULL,
	PRIMARY KEY (commit_id, profile_digest)
) WITHOUT ROWID;
