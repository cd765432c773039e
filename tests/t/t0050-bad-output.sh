#!/bin/sh
# What steps print is outside input: gigabytes, garbage, crashes.  Each
# gives a recorded verdict; nothing crashes; stored results stay.
. "$(dirname "$0")/test-lib.sh"

test_expect_success 'setup' '
	fake_repo repo &&
	git -C repo checkout -q -b s1 &&
	fake_commit repo "mm: one" mm/a.c "int a;" &&
	write_profile profile.json 60 60 "\"log_max\": 1" &&
	write_plan plan.json "$TRASH/repo" "$TRASH/profile.json" one:s1 &&
	kstage_once
'

test_expect_success 'a step that prints 200 MiB: the log is capped, the tests still parse' '
	fake_commit repo "spew" SPEW 200 &&
	kstage_once &&
	run=$(stage_field one run_id) &&
	log="art/runs/$run/02-boot.log" &&
	size=$(stat -c %s "$log") &&
	test "$size" -lt $((1024 * 1024 + 200 * 1024)) &&
	test_grep "^\[kstage: log cut at 1048576 bytes; [0-9]+ bytes dropped" "$log" &&
	test "$(sql k.db "SELECT log_dropped > 200000000 FROM steps WHERE run_id = $run AND name = \"boot\"")" = 1 &&
	test "$(stage_field one verdict)" = green &&
	test "$(sql k.db "SELECT n_pass FROM runs WHERE id = $run")" = 10
'

test_expect_success 'a storm between the results, far over the log cap: every result parsed' '
	fake_commit repo "storm" SPEW - SPEW_EACH 3072 &&
	kstage_once &&
	run=$(stage_field one run_id) &&
	test "$(sql k.db "SELECT log_dropped > 25000000 FROM steps WHERE run_id = $run AND name = \"boot\"")" = 1 &&
	test "$(sql k.db "SELECT boot_verdict FROM runs WHERE id = $run")" = clean &&
	test "$(stage_field one verdict)" = green &&
	test "$(sql k.db "SELECT n_pass || \"|\" || n_fail || \"|\" || n_error FROM runs WHERE id = $run")" = "10|0|0" &&
	test "$(sql k.db "SELECT count(*) FROM results WHERE run_id = $run")" = 10 &&
	fake_commit repo "calm" SPEW_EACH - SPEW 200
'

test_expect_success 'binary garbage on the console: a verdict, no crash' '
	cat > garbage-boot <<-EOF &&
	#!/bin/sh
	head -c 300000 /dev/urandom
	printf "\0\0\377\376ok 1 \377name\nnot ok 2 \0x\n"
	EOF
	chmod +x garbage-boot &&
	write_profile p2.json &&
	sed -i "s|$FAKE/boot|$TRASH/garbage-boot|" p2.json &&
	write_plan plan2.json "$TRASH/repo" "$TRASH/p2.json" one:s1 &&
	"$KSTAGE" run --once --plan plan2.json --db k2.db --artifacts art2 \
		--work work --cache cache > out2 2> err2 &&
	test "$(sql k2.db "SELECT count(*) FROM runs WHERE state = \"done\"")" = 2 &&
	test "$(sql k2.db "SELECT DISTINCT boot_verdict FROM runs")" = hung &&
	sql k2.db "SELECT test FROM results WHERE run_id = 2 ORDER BY test" > names &&
	printf "?x\nboot\n" > expect &&
	test_cmp expect names
'

test_expect_success 'a build error is an error verdict with the compiler message in the log' '
	fake_commit repo "broken" SPEW - BUILD_ERROR "mm/memremap.c:42:1: error: expected ; before }" &&
	test_exit 1 kstage_once &&
	test "$(stage_field one verdict)" = error &&
	run=$(stage_field one run_id) &&
	test_grep "mm/memremap.c:42:1: error" "art/runs/$run/01-build.log" &&
	test "$(sql k.db "SELECT failed_step || \"|\" || reusable FROM runs WHERE id = $run")" = "build|1" &&
	test_grep "error: step build: exit status 2" out
'

test_expect_success 'a panic: boot verdict panic, the lost tests are missing' '
	fake_commit repo "panic" BUILD_ERROR - PANIC yes &&
	test_exit 1 kstage_once &&
	run=$(stage_field one run_id) &&
	test "$(sql k.db "SELECT boot_verdict FROM runs WHERE id = $run")" = panic &&
	sql k.db "SELECT boot_text FROM runs WHERE id = $run" | grep "Kernel panic - not syncing" &&
	test_grep "regression +boot" out &&
	test_grep "missing +gup_test-u/ioctl_status_0" out &&
	test "$(sql k.db "SELECT status FROM results WHERE run_id = $run AND test = \"hmm-tests/hmm.hmm_device_private.open_close\"")" = pass
'

test_expect_success 'an Oops mid-test: the test that was running is an error' '
	fake_commit repo "oops" PANIC - OOPS yes &&
	test_exit 1 kstage_once &&
	run=$(stage_field one run_id) &&
	test "$(sql k.db "SELECT boot_verdict FROM runs WHERE id = $run")" = panic &&
	test "$(sql k.db "SELECT status FROM results WHERE run_id = $run AND test = \"hmm-tests/hmm.hmm_device_private.anon_read\"")" = error
'

test_expect_success 'a WARNING is a boot regression even though the tests pass' '
	fake_commit repo "warn" OOPS - WARNING yes &&
	test_exit 1 kstage_once &&
	run=$(stage_field one run_id) &&
	test "$(sql k.db "SELECT boot_verdict FROM runs WHERE id = $run")" = warning &&
	sql k.db "SELECT boot_text FROM runs WHERE id = $run" | grep "mm/memremap.c:181" &&
	test "$(sql k.db "SELECT n_fail FROM runs WHERE id = $run")" = 1
'

# start_slow_run: kstage run --once in the background until its (slow) boot
# runs; sets pid.
start_slow_run() {
	"$KSTAGE" run --once --plan plan.json --db k.db --artifacts art \
		--work work --cache cache > out 2> err &
	pid=$!
	for i in $(seq 50); do
		test "$(sql k.db "SELECT count(*) FROM steps WHERE state = \"running\" AND name = \"boot\"")" = 1 && break
		sleep 0.1
	done
	sleep 0.3
	test "$(stage_field one verdict)" = running
}

test_expect_success 'kill -9 of the runner mid-run: its step dies with it; the next start re-queues and finishes it' '
	fake_commit repo "slow" WARNING - SLEEP 30
	before=$(sql k.db "SELECT count(*) FROM results")
	start_slow_run
	kill -9 $pid
	wait $pid || true
	# The step guard kills the step when the daemon dies: no waiting for
	# the next start.
	i=0 && until test_no_leftovers > /dev/null || [ $i -ge 20 ]; do sleep 0.1; i=$((i + 1)); done
	test_no_leftovers
	test "$(sql k.db "SELECT count(*) FROM runs WHERE state = \"running\"")" = 1
	test "$(sql k.db "SELECT count(*) FROM results")" = "$before"
	printf 1 > repo/SLEEP
	kstage_once
	test "$(sql k.db "SELECT count(*) FROM runs WHERE state = \"running\"")" = 0
	test "$(sql k.db "SELECT count(*) FROM results")" -gt "$before"
	test_grep "re-queued 1 run interrupted by a previous daemon" err
	test_no_leftovers
'

test_expect_success 'with the guard killed too, the next start sweeps what was left' '
	fake_commit repo "slow again" SLEEP 31
	start_slow_run
	guards=
	for c in $(cat /proc/$pid/task/*/children); do
		grep -q step-guard /proc/$c/cmdline 2> /dev/null && guards="$guards $c"
	done
	test -n "$guards"
	# The guards first: a guard that saw the daemon die would do its job.
	kill -9 $guards
	kill -9 $pid
	wait $pid || true
	sleep 0.3
	! test_no_leftovers > /dev/null
	printf 1 > repo/SLEEP
	kstage_once
	test_grep "killed [0-9]+ leftover process" err
	test_no_leftovers
'

test_done
