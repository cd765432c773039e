#!/bin/sh
# A daemon whose slots are all idle keeps serving: a wake-up of the loop
# (here POST /api/v1/refresh) looks at every slot's timers, and an idle
# slot has no run, no plan and no profile (issue 9: it read the profile
# of the slot's plan before it checked that a step was running).
. "$(dirname "$0")/test-lib.sh"
. "$SRC/tests/t/lib-api.sh"
trap api_cleanup EXIT

test_expect_success 'setup: two stages, a token, the daemon, every run done' '
	two_stage_setup &&
	"$KSTAGE" token create ci -c kstage.json > token 2> err &&
	start_daemon &&
	wait_idle
'
DAEMON_PID=$(cat "$TRASH/daemon.pid" 2> /dev/null)

test_expect_success 'refresh with every slot idle: the daemon stays up' '
	post /api/v1/refresh > r.json &&
	test "$(api_code)" = 202 &&
	post /api/v1/refresh > r.json &&
	test "$(api_code)" = 202 &&
	sleep 0.5 &&
	kill -0 "$(cat daemon.pid)" &&
	api /api/v1/plans > p.json &&
	test "$(api_code)" = 200 &&
	kill -0 "$(cat daemon.pid)"
'

test_expect_success 'SIGTERM stops it cleanly' '
	stop_daemon &&
	! grep -E "runtime error|ERROR: AddressSanitizer" serve.err
'

test_done
