#!/bin/sh
# Benchmark: the stage-status endpoint (GET /api/v1/plans/P/stages/S) of
# a real "kstage serve" on loopback, with 100 000 results stored.
#
# The database is made by the daemon's own migrations ("kstage token
# create" opens and migrates it), then filled with SQL: a plan of 10
# stages, 1000 done runs of 100 results each (100 000 results), their
# steps, own commits, changes, 5000 events.  The stage asked for has a
# head run of 100 results compared with a baseline run of 100.
#
# Measured with wrk (2 threads, 32 connections, keep-alive) in the same
# run, each for $SECONDS_EACH seconds:
#   - baseline: a small static file served by the same daemon
#     (/static/base.txt): the cost of HTTP alone;
#   - the stage status: the JSON of one stage (about 15 KB), made once
#     per change of the state (6 queries in one read transaction) and
#     then served from memory: a request costs one query (the state
#     version, see daemon/rcache.h) and a copy;
#   - the plan: every stage of the plan (GET /api/v1/plans/P), for scale.
# Prints requests/s and the 99th percentile latency of each, and the
# ratio of the stage endpoint to the baseline.  Goal (issue 9): the stage
# status at >= 0.5 times the baseline's requests/s, with p99 < 10 ms (on
# 2 cores, wrk sharing them).
#
#   sh bench/api-status.sh            (from anywhere; SECONDS_EACH=10)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
work=${BENCH_DIR:-$top/bench/out/api-status}
secs=${SECONDS_EACH:-10}
command -v wrk > /dev/null || { echo "api-status: needs wrk (make deps)"; exit 1; }
command -v sqlite3 > /dev/null || { echo "api-status: needs sqlite3"; exit 1; }
rm -rf "$work" && mkdir -p "$work/web" && cd "$work"
echo "kstage" > web/base.txt
cat > kstage.json <<EOF
{ "db": "bench.db", "artifacts": "art", "work": "work", "cache": "cache",
  "web_root": "web", "poll_interval": 0 }
EOF
"$top/kstage" -q token create bench -c kstage.json > /dev/null 2>&1

sqlite3 bench.db <<'EOF'
BEGIN;
INSERT INTO plans (id, name, path, repo, base, integration, profile,
	profile_digest, updated_at)
VALUES (1, 'bench', 'plan.json', '/nonexistent', 'base', 'integration', 'fake',
	printf('%040d', 7), 0);
INSERT INTO gates (plan_id, state, updated_at) VALUES (1, 'blocked', 0);
WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < 10)
INSERT INTO stages (id, plan_id, idx, name, branch, title, head, tree,
	stack_state, verdict)
SELECT i + 1, 1, i, CASE i WHEN 0 THEN 'base' ELSE 'stage' || i END,
	's' || i, 'stage number ' || i, printf('%040d', 1000 + i),
	printf('%040d', 2000 + i), 'ok', 'green' FROM s;
-- 1000 runs over stages 1..10, oldest first.
WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 1000)
INSERT INTO runs (id, plan_id, stage_id, commit_id, tree_id, profile,
	profile_digest, reason, state, verdict, boot_verdict, reusable, n_pass,
	n_fail, queued_at, started_at, finished_at, checkout_ms, overhead_ms)
SELECT i, 1, (i - 1) % 10 + 2, printf('%040d', 1000 + (i - 1) % 10 + 1),
	printf('%040d', 5000 + i), 'fake', printf('%040d', 7), 'change', 'done',
	'pass', 'clean', 1, 98, 2, i * 1000, i * 1000 + 10, i * 1000 + 900, 5, 20
FROM r;
WITH RECURSIVE t(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM t WHERE i < 100)
INSERT INTO results (run_id, test, status, detail, line)
SELECT runs.id, printf('suite%d/test%03d', (t.i - 1) / 20, t.i),
	CASE WHEN (runs.id + t.i) % 37 = 0 THEN 'fail' ELSE 'pass' END,
	CASE WHEN (runs.id + t.i) % 37 = 0 THEN 'Expected 0 == 1' END, 10 + 3 * t.i
FROM runs, t;
INSERT INTO steps (run_id, idx, name, state, exit_code, started_at, finished_at,
	log, log_bytes)
SELECT id, 0, 'build', 'ok', 0, started_at, started_at + 300,
	'runs/' || id || '/01-build.log', 1000 FROM runs;
INSERT INTO steps (run_id, idx, name, state, exit_code, started_at, finished_at,
	log, log_bytes)
SELECT id, 1, 'boot', 'ok', 0, started_at + 300, finished_at,
	'runs/' || id || '/02-boot.log', 50000 FROM runs;
WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < 4)
INSERT INTO stage_commits (stage_id, seq, commit_id, subject, author)
SELECT s.id, c.i, printf('%040d', s.id * 100 + c.i),
	'mm: change ' || c.i || ' of ' || s.name, 'A U Thor <author@example.com>'
FROM stages s, c WHERE s.idx > 0;
INSERT INTO changes (stage_id, test, kind, before, after, detail)
SELECT s.id, 'suite1/test0' || (10 + s.idx), 'fixed', 'fail', 'pass', NULL
FROM stages s WHERE s.idx > 0;
UPDATE stages SET run_id = (SELECT max(id) FROM runs WHERE stage_id = stages.id);
UPDATE stages SET baseline_run_id = (SELECT s2.run_id FROM stages s2
	WHERE s2.plan_id = stages.plan_id AND s2.idx = stages.idx - 1);
UPDATE stages SET fixed = 1 WHERE idx > 0;
WITH RECURSIVE e(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM e WHERE i < 5000)
INSERT INTO events (at, kind, plan_id, stage_id, run_id, data)
SELECT i, 'step', 1, (i % 10) + 2, i % 1000 + 1,
	'{"step":"boot","state":"ok"}' FROM e;
COMMIT;
EOF
echo "api-status: $(sqlite3 bench.db "SELECT count(*) FROM results") results," \
	"$(sqlite3 bench.db "SELECT count(*) FROM runs") runs in the database"

"$top/kstage" -q serve -c kstage.json --listen 127.0.0.1:0 > serve.out 2> serve.err &
pid=$!
trap 'kill $pid 2> /dev/null; wait $pid 2> /dev/null' EXIT
i=0
while ! grep -q "^kstage: serving" serve.out && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
url=$(sed -n 's|^kstage: serving \(http://[^/]*\)/.*|\1|p' serve.out)
[ -n "$url" ] || { echo "api-status: the daemon did not start"; cat serve.err; exit 1; }
curl -sf --max-time 10 "$url/api/v1/plans/bench/stages/stage5" > stage.json
echo "api-status: stage JSON is $(wc -c < stage.json) bytes," \
	"$(jq '.results | length' stage.json) results, $(jq '.runs | length' stage.json) runs"

# measure NAME PATH: wrk, then "NAME req/s p99_ms" into results.
measure() {
	wrk -t2 -c32 -d"${secs}s" --latency "$url$2" > "wrk-$1.txt" 2>&1
	if grep -q "Non-2xx\|Socket errors" "wrk-$1.txt"; then
		echo "api-status: errors during $1:"; cat "wrk-$1.txt"; exit 1
	fi
	awk -v name="$1" '
		/Requests\/sec/ { rps = $2 }
		$1 == "99%" { v = $2; ms = v + 0
			if (v ~ /us$/) ms /= 1000; else if (v ~ /[^m]s$/) ms *= 1000 }
		END { printf "%s %.0f %.2f\n", name, rps, ms }' "wrk-$1.txt" >> results
}
: > results
measure static /static/base.txt
measure stage /api/v1/plans/bench/stages/stage5
measure plan /api/v1/plans/bench
awk '
	{ rps[$1] = $2; p99[$1] = $3 }
	END {
		printf "api-status: baseline (static file):   %7d req/s, p99 %6.2f ms\n", rps["static"], p99["static"]
		printf "api-status: stage status (JSON):      %7d req/s, p99 %6.2f ms (goal >= 0.5 x baseline, p99 < 10 ms)\n", rps["stage"], p99["stage"]
		printf "api-status: plan, all stages (JSON):  %7d req/s, p99 %6.2f ms\n", rps["plan"], p99["plan"]
		printf "api-status: ratio stage/baseline = %.2f\n", rps["stage"] / rps["static"]
		exit !(rps["stage"] >= 0.5 * rps["static"] && p99["stage"] < 10)
	}' results
