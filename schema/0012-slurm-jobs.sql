-- kstage schema, version 12: runs on a Slurm cluster (daemon/exec_slurm.h).
--
-- job:  the run's batch job id while it runs on Slurm (NULL on local
--       slots): a restarted daemon adopts the job instead of running the
--       run again.
-- node: the node it ran on, as the job reported it; placement prefers the
--       node that last ran the same stage (its tree and cache are warm).
-- Both are cleared when a run goes back to the queue.

ALTER TABLE runs ADD COLUMN job TEXT;
ALTER TABLE runs ADD COLUMN node TEXT;
CREATE INDEX runs_stage_node ON runs (stage_id, finished_at) WHERE node IS NOT NULL;
