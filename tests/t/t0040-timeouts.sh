#!/bin/sh
# Timeouts: a hung boot is killed at its timeout with everything it
# started; a build that overruns is an error.  No process outlives its run.
. "$(dirname "$0")/test-lib.sh"

no_leftovers() {
	# The fake HANG boot starts sleeps of 3600-3602 s (one escapes the
	# process group with setsid); none may survive.
	sleep 0.2
	test_no_leftovers
}

test_expect_success 'setup: stage two hangs at boot' '
	fake_repo repo &&
	git -C repo checkout -q -b s1 &&
	fake_commit repo "mm: one" mm/a.c "int a;" &&
	git -C repo checkout -q -b s2 &&
	fake_commit repo "mm: hang" HANG yes &&
	write_profile profile.json 60 2 &&
	write_plan plan.json "$TRASH/repo" "$TRASH/profile.json" one:s1 two:s2
'

test_expect_success 'the hung boot is killed at its timeout and the stage is red' '
	start=$(date +%s) &&
	test_exit 1 kstage_once &&
	end=$(date +%s) &&
	test $((end - start)) -lt 15 &&
	test "$(stage_field two verdict)" = red &&
	run=$(stage_field two run_id) &&
	test "$(sql k.db "SELECT boot_verdict FROM runs WHERE id = $run")" = timeout &&
	test "$(sql k.db "SELECT state FROM steps WHERE run_id = $run AND name = \"boot\"")" = timeout &&
	test_grep "regression +boot \(pass -> fail\): timeout" out &&
	test_grep "missing +hmm-tests/hmm.hmm_device_private.open_close" out
'

test_expect_success 'nothing the hung step started is left running' '
	no_leftovers
'

test_expect_success 'the log of the hung step is kept' '
	run=$(stage_field two run_id) &&
	test_grep "KSTAGE: running hmm-tests" "art/runs/$run/02-boot.log"
'

test_expect_success 'a build that overruns its timeout is an error, not a result' '
	git -C repo checkout -q s2 &&
	fake_commit repo "slow build, no hang" HANG - BUILD_SLEEP 30 &&
	write_profile profile.json 1 2 &&
	start=$(date +%s) &&
	test_exit 1 kstage_once &&
	test $(($(date +%s) - start)) -lt 15 &&
	test "$(stage_field two verdict)" = error &&
	run=$(stage_field two run_id) &&
	test "$(sql k.db "SELECT failed_step || \"|\" || error FROM runs WHERE id = $run")" = "build|step build: timed out after 1 s" &&
	test "$(sql k.db "SELECT reusable FROM runs WHERE id = $run")" = 0 &&
	test "$(sql k.db "SELECT state FROM steps WHERE run_id = $run ORDER BY idx" | tr "\n" " ")" = "timeout skipped " &&
	no_leftovers
'

test_expect_success 'a step that ignores TERM is killed after the grace period' '
	cat > stubborn <<-\EOF &&
	#!/bin/sh
	trap "" TERM
	echo "ignoring TERM"
	sleep 3601 &
	wait
	EOF
	chmod +x stubborn &&
	cat > p2.json <<-EOF &&
	{ "name": "stubborn",
	  "steps": [ { "name": "build", "run": ["$TRASH/stubborn"], "timeout": 1 } ],
	  "kill_grace": 1 }
	EOF
	write_plan plan2.json "$TRASH/repo" "$TRASH/p2.json" one:s1 &&
	start=$(date +%s) &&
	test_exit 1 "$KSTAGE" run --once --plan plan2.json --db k2.db --artifacts art2 \
		--work work --cache cache > out2 2>&1 &&
	test $(($(date +%s) - start)) -lt 10 &&
	no_leftovers
'

test_done
