-- kstage schema, version 9: the outbox (written only by daemon/outbox.c).
-- One row per notification to deliver (a webhook call or a mail),
-- inserted by events_add() in the transaction of the change it reports;
-- the sender (daemon/notify.c) delivers it and records every attempt.
CREATE TABLE outbox (
	id INTEGER PRIMARY KEY,			-- the delivery id (X-Kstage-Delivery)
	event_id INTEGER NOT NULL,		-- the events row that caused it
	kind TEXT NOT NULL,			-- the notification kind (X-Kstage-Event)
	channel TEXT NOT NULL CHECK (channel IN ('webhook', 'mail')),
	target TEXT NOT NULL,			-- the webhook's or the mail server's URL
	plan_id INTEGER,
	stage_id INTEGER,
	run_id INTEGER,
	bisection_id INTEGER,
	payload TEXT,				-- webhook: the JSON body; mail: set at the
						-- first attempt, then sent as it is
	state TEXT NOT NULL DEFAULT 'pending'
		CHECK (state IN ('pending', 'delivered', 'failed')),
	tries INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,
	next_at INTEGER NOT NULL,		-- ms: not before
	delivered_at INTEGER,
	last_error TEXT
);
CREATE INDEX outbox_due ON outbox (state, next_at);

CREATE TABLE outbox_attempts (
	outbox_id INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
	n INTEGER NOT NULL,			-- 1, 2, ...
	at INTEGER NOT NULL,
	ok INTEGER NOT NULL CHECK (ok IN (0, 1)),
	code INTEGER,				-- HTTP status or SMTP reply code
	error TEXT,
	PRIMARY KEY (outbox_id, n)
);
