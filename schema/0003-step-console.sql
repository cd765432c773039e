-- kstage schema, version 3: which step's log is the console (parsed for
-- results and the boot verdict), so readers need not guess.
ALTER TABLE steps ADD COLUMN console INTEGER NOT NULL DEFAULT 0;
