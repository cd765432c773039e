#!/bin/sh
# Benchmark: the first pass of the demo plan (what `make run` does first),
# wall time of each phase: setting up the repository, then per stage the
# checkout, the build and the boot + tests, and the bisection.
#
#   sh bench/first-pass.sh --cold     a real cold pass: an empty ccache and
#                                     fresh slot trees under bench/out/
#   sh bench/first-pass.sh DB         the phases of a pass already made
#                                     (e.g. var/check/k.db of check-kernel)
#
# The baseline for the boot phase is the by-hand 7-9.5 s of
# shared/KERNEL.md; for the build phase the cold build of KERNEL.md (659 s).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
if [ "${1:-}" = --cold ]; then
	out=$top/bench/out/first-pass
	rm -rf "$out" && mkdir -p "$out"
	t0=$(date +%s)
	"$top/jobs/setup-demo" "$top/var" > "$out/setup.log" 2>&1
	t1=$(date +%s)
	echo "first-pass: setup-demo $((t1 - t0)) s (an existing var/linux.git costs ~1 s)"
	"$top/kstage" -q run --once --plan "$top/configs/plans/demo.json" \
		--db "$out/k.db" --artifacts "$out/art" --work "$out/work" \
		--cache "$out/cache" > "$out/report" || true
	echo "first-pass: kstage run --once $(($(date +%s) - t1)) s"
	db=$out/k.db
else
	db=${1:?usage: first-pass.sh --cold | DB}
fi
sqlite3 -batch -noheader "$db" "
	SELECT printf('%-9s %-22s %-12.12s %8.1f %8.1f %8.1f %8.1f',
		r.reason, coalesce(s.name, '-'), r.commit_id, r.checkout_ms / 1000.0,
		coalesce((SELECT (finished_at - started_at) / 1000.0 FROM steps
			WHERE run_id = r.id AND name = 'build'), 0),
		coalesce((SELECT (finished_at - started_at) / 1000.0 FROM steps
			WHERE run_id = r.id AND name = 'boot'), 0),
		(r.finished_at - r.started_at) / 1000.0)
	FROM runs r LEFT JOIN stages s ON s.id = r.stage_id
	WHERE r.reused_from IS NULL AND r.state = 'done'
	AND r.plan_id = (SELECT id FROM plans WHERE name = 'zone-device-demo')
	ORDER BY r.id" > /tmp/first-pass.$$
printf '%-9s %-22s %-12s %8s %8s %8s %8s\n' reason stage commit checkout build boot total
cat /tmp/first-pass.$$
awk '{ co += $4; b += $5; bo += $6; t += $7; n++
	if ($1 == "change") { nb++; if (n == 1) first = $5; else { ib += $5; ni++ }; boot += $6 } }
	END {
		printf "first-pass: %d runs, %.0f s in all: checkout %.0f s, build %.0f s, boot+tests %.0f s\n", n, t, co, b, bo
		printf "first-pass: first (cold) build %.0f s, ratio to the cold build of KERNEL.md (659 s) %.2f\n", first, first / 659
		if (ni) printf "first-pass: later stage builds %.1f s each on average\n", ib / ni
	}' /tmp/first-pass.$$
# The median, so that the first boot (which also probes KVM once) does not
# stand for all of them.
awk '$1 == "change" { print $6 }' /tmp/first-pass.$$ | sort -n | awk '
	{ v[NR] = $1 } END { if (NR) { m = v[int((NR + 1) / 2)]
		printf "first-pass: boot + tests per stage, median %.1f s (first %.1f s with the KVM probe); ratio to the by-hand 9.2 s %.2f\n", m, v[NR], m / 9.2 } }'
rm -f /tmp/first-pass.$$
