-- kstage schema, version 10: Patchwork checks in the outbox (written only
-- by daemon/outbox.c).  A row of channel 'patchwork' is one check on one
-- patch: its payload is the check, its topic the patch's Message-ID.  A
-- newer row of the same channel, target and topic supersedes an older
-- one that is still pending: that one is never sent (state 'superseded'),
-- so a slow retry cannot put an old answer over a new one.
CREATE TABLE outbox_new (
	id INTEGER PRIMARY KEY,
	event_id INTEGER NOT NULL,
	kind TEXT NOT NULL,
	channel TEXT NOT NULL CHECK (channel IN ('webhook', 'mail', 'patchwork')),
	target TEXT NOT NULL,
	plan_id INTEGER,
	stage_id INTEGER,
	run_id INTEGER,
	bisection_id INTEGER,
	payload TEXT,
	state TEXT NOT NULL DEFAULT 'pending'
		CHECK (state IN ('pending', 'delivered', 'failed', 'superseded')),
	tries INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,
	next_at INTEGER NOT NULL,
	delivered_at INTEGER,
	last_error TEXT,
	topic TEXT				-- patchwork: the patch's Message-ID
);
INSERT INTO outbox_new (id, event_id, kind, channel, target, plan_id, stage_id,
	run_id, bisection_id, payload, state, tries, created_at, next_at,
	delivered_at, last_error)
	SELECT id, event_id, kind, channel, target, plan_id, stage_id, run_id,
	bisection_id, payload, state, tries, created_at, next_at, delivered_at,
	last_error FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (state, next_at);
CREATE INDEX outbox_topic ON outbox (channel, target, topic, state);
