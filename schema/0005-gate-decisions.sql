-- kstage schema, version 5: every decision of the gate about a plan's
-- integration branch (written only by daemon/gate.c), and each plan's
-- gate policy (written with the plan, by daemon/stages.c).
CREATE TABLE gate_decisions (
	id INTEGER PRIMARY KEY,
	plan_id INTEGER NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
	at INTEGER NOT NULL,
	action TEXT NOT NULL CHECK (action IN ('moved', 'refused', 'blocked')),
	stage_id INTEGER,		-- the stage it moved to, or was asked for
	old_commit TEXT,		-- the integration branch before
	new_commit TEXT,		-- and after (moved)
	by TEXT NOT NULL,		-- "auto", or the token that asked
	detail TEXT NOT NULL		-- the reason, for people
);
CREATE INDEX gate_decisions_plan ON gate_decisions (plan_id, id);

-- Who moves the plan's integration branch: the plan file's "gate".
ALTER TABLE plans ADD COLUMN gate_policy TEXT NOT NULL DEFAULT 'manual'
	CHECK (gate_policy IN ('manual', 'auto', 'off'));
