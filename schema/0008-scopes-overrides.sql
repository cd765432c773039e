-- kstage schema, version 8: what a token may do (its scope) and until
-- when (written only by daemon/token.c); an admin's override of the gate
-- for one push to a plan's integration branch, and the decision that
-- records its use (written only by daemon/gate.c).
ALTER TABLE tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'write'
	CHECK (scope IN ('read', 'push', 'write', 'admin'));
ALTER TABLE tokens ADD COLUMN expires_at INTEGER;	-- ms; NULL: never

-- One allowance: the next push of exactly this commit to the plan's
-- integration branch passes the gate, once, before it expires.
CREATE TABLE gate_overrides (
	id INTEGER PRIMARY KEY,
	plan_id INTEGER NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
	commit_id TEXT NOT NULL CHECK (length(commit_id) = 40),
	reason TEXT NOT NULL CHECK (length(reason) > 0),
	by TEXT NOT NULL,			-- the admin token that allowed it
	at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at INTEGER,			-- NULL: not used yet
	used_by TEXT
);
CREATE INDEX gate_overrides_plan ON gate_overrides (plan_id, commit_id);

-- Gate decisions may now be "overridden" (a push let through by one).
CREATE TABLE gate_decisions_new (
	id INTEGER PRIMARY KEY,
	plan_id INTEGER NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
	at INTEGER NOT NULL,
	action TEXT NOT NULL
		CHECK (action IN ('moved', 'refused', 'blocked', 'overridden')),
	stage_id INTEGER,
	old_commit TEXT,
	new_commit TEXT,
	by TEXT NOT NULL,
	detail TEXT NOT NULL
);
INSERT INTO gate_decisions_new SELECT id, plan_id, at, action, stage_id, old_commit,
	new_commit, by, detail FROM gate_decisions;
DROP TABLE gate_decisions;
ALTER TABLE gate_decisions_new RENAME TO gate_decisions;
CREATE INDEX gate_decisions_plan ON gate_decisions (plan_id, id);
