#!/bin/sh
# progress.sh DB [SINCE [START]]: follow a kstage database and print each
# run's start, its steps and its end as they happen, as TAP comments:
#
#   # [  3m12s] run 4 started: zone-device-demo/base 1a2b3c4d5e6f (change)
#   # [  9m40s] run 4: step build ok after 6m28s
#   # [  9m52s] run 4 finished: pass (pass 64, fail 0, skip 0, error 0) after 6m40s
#
# It reads the events table (what GET /api/v1/events streams), so it works
# under "kstage run --once" as well as under "kstage serve".
#
#   DB     the database; waited for if it does not exist yet
#   SINCE  print only events after this id (default 0: all of them); give
#          max(id) taken before the runs start to see only new ones
#   START  epoch seconds the [elapsed] times count from (default: now)
#
# KSTAGE_PROGRESS_INTERVAL: seconds between polls (default 5).
# KSTAGE_PROGRESS_PARENT: the process it serves (default: its parent).
#
# It never outlives that process: it stops within one interval after the
# parent is gone, and at once on SIGTERM, SIGINT or SIGHUP, after a last
# poll (so what happened up to then is printed).
set -u
db=${1:?usage: progress.sh DB [SINCE [START]]}
last=${2:-0}
start=${3:-$(date +%s)}
interval=${KSTAGE_PROGRESS_INTERVAL:-5}
parent=${KSTAGE_PROGRESS_PARENT:-$PPID}
case "$last$start" in
*[!0-9]*) echo "progress.sh: SINCE and START are integers" >&2; exit 2 ;;
esac

# One line per event after $last: "ID<TAB>TEXT", TEXT empty for the
# events it does not show (the id still counts).  Integers only are
# spliced into the SQL; every name comes out of the database as data.
poll() {
	[ -f "$db" ] || return 0
	out=$(sqlite3 -batch -noheader -separator '	' -cmd ".timeout 5000" "$db" "
	SELECT e.id, printf('# [%4dm%02ds] ', (e.at / 1000 - $start) / 60,
			    (e.at / 1000 - $start) % 60) || replace(replace(CASE e.kind
	WHEN 'run-started' THEN printf('run %d started: %s/%s %s (%s%s)', r.id,
		coalesce(p.name, '?'), coalesce(s.name, '?'), substr(r.commit_id, 1, 12),
		r.reason, CASE WHEN r.tests IS NULL THEN ''
		ELSE printf(', %d test%s', length(r.tests) - length(replace(r.tests, char(10), '')) + 1,
			    CASE WHEN instr(r.tests, char(10)) THEN 's' ELSE '' END) END)
	WHEN 'step' THEN printf('run %d: step %s %s%s', r.id,
		json_extract(e.data, '\$.step'), json_extract(e.data, '\$.state'),
		(SELECT CASE WHEN json_extract(e.data, '\$.state') = 'running' OR
			st.finished_at IS NULL OR st.started_at IS NULL THEN ''
			ELSE printf(' after %dm%02ds', (st.finished_at - st.started_at) / 60000,
				    (st.finished_at - st.started_at) / 1000 % 60) END
		 FROM steps st WHERE st.run_id = r.id AND st.name = json_extract(e.data, '\$.step')))
	WHEN 'run-finished' THEN printf('run %d finished: %s (pass %d, fail %d, skip %d, error %d)%s%s',
		r.id, coalesce(r.verdict, json_extract(e.data, '\$.verdict')), r.n_pass,
		r.n_fail, r.n_skip, r.n_error,
		CASE WHEN r.started_at IS NULL OR r.finished_at IS NULL THEN ''
		ELSE printf(' after %dm%02ds', (r.finished_at - r.started_at) / 60000,
			    (r.finished_at - r.started_at) / 1000 % 60) END,
		CASE WHEN r.error IS NULL THEN '' ELSE ': ' || r.error END)
	WHEN 'run-reused' THEN printf('run %d: %s/%s %s reused run %d', r.id,
		coalesce(p.name, '?'), coalesce(s.name, '?'), substr(r.commit_id, 1, 12),
		json_extract(e.data, '\$.reused_from'))
	WHEN 'run-canceled' THEN printf('run %d canceled', r.id)
	WHEN 'bisection' THEN printf('bisection %d: %s', e.bisection_id,
		coalesce(json_extract(e.data, '\$.state'),
			 printf('run %d %s', json_extract(e.data, '\$.run_id'),
				coalesce(json_extract(e.data, '\$.verdict'), 'started'))))
	END, char(9), ' '), char(10), ' ')
	FROM events e LEFT JOIN runs r ON r.id = e.run_id
	LEFT JOIN stages s ON s.id = r.stage_id
	LEFT JOIN plans p ON p.id = r.plan_id
	WHERE e.id > $last ORDER BY e.id" 2> /dev/null) || return 0
	[ -n "$out" ] || return 0
	printf '%s\n' "$out" | awk -F '\t' '$2 != "" { sub(/^[^\t]*\t/, ""); print }'
	last=$(printf '%s\n' "$out" | tail -n 1 | cut -f1)
}

stop=0
nap=
trap 'stop=1; [ -n "$nap" ] && kill "$nap" 2> /dev/null' TERM INT HUP
while :; do
	poll
	[ "$stop" = 1 ] && break
	kill -0 "$parent" 2> /dev/null || break
	sleep "$interval" &
	nap=$!
	wait "$nap"
	nap=
done
exit 0
