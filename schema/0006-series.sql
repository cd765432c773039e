-- kstage schema, version 6: patch series applied from mail to a stage
-- (written only by daemon/series.c).
CREATE TABLE series (
	id INTEGER PRIMARY KEY,
	plan_id INTEGER NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
	stage_id INTEGER NOT NULL REFERENCES stages(id) ON DELETE CASCADE,
	at INTEGER NOT NULL,
	title TEXT NOT NULL,		-- the cover letter's, else the first patch's
	version INTEGER NOT NULL CHECK (version >= 1),
	message_id TEXT,		-- the cover's, else the first patch's
	base_commit TEXT,		-- the cover's "base-commit:", if any
	onto TEXT NOT NULL,		-- what the first patch was applied to
	head TEXT NOT NULL,		-- the stage's new head
	old_head TEXT,			-- the stage's head before
	nr_patches INTEGER NOT NULL CHECK (nr_patches >= 1),
	source TEXT NOT NULL CHECK (source IN ('file', 'api', 'inbox')),
	link_base TEXT,			-- the archive it came from
	by TEXT NOT NULL
);
CREATE INDEX series_stage ON series (stage_id, id);

CREATE TABLE series_patches (
	series_id INTEGER NOT NULL REFERENCES series(id) ON DELETE CASCADE,
	number INTEGER NOT NULL,	-- position in the series, from 1
	commit_id TEXT NOT NULL,
	message_id TEXT,
	author TEXT NOT NULL,		-- "Name <email>"
	subject TEXT NOT NULL,		-- the title, prefixes stripped
	PRIMARY KEY (series_id, number)
);
