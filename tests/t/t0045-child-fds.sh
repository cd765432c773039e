#!/bin/sh
# A step inherits no descriptor of the daemon's but its stdin, stdout and
# stderr: not even one the daemon itself inherited, without close-on-exec,
# from whoever started it.
. "$(dirname "$0")/test-lib.sh"

test_expect_success 'setup: a profile with a step that lists its descriptors' '
	fake_repo repo &&
	git -C repo checkout -q -b s1 &&
	fake_commit repo "mm: one" mm/a.c "int a;" &&
	cat > profile.json <<-EOF &&
	{
		"name": "fds",
		"steps": [
			{ "name": "build", "run": ["$FAKE/build"], "timeout": 60 },
			{ "name": "fds", "timeout": 60,
			  "run": ["/bin/sh", "-c", "ls /proc/self/fd > \"\$KSTAGE_ARTIFACTS/fds\""] },
			{ "name": "boot", "run": ["$FAKE/boot"], "timeout": 60, "console": true }
		],
		"end_marker": "KSTAGE-DONE",
		"kill_grace": 1
	}
	EOF
	write_plan plan.json "$TRASH/repo" "$TRASH/profile.json" one:s1
'

test_expect_success 'a descriptor open without close-on-exec reaches a plain child' '
	sh -c "ls /proc/self/fd" 9> leaked > control &&
	test_grep "^9$" control
'

test_expect_success 'it does not reach a step of kstage run started with it' '
	kstage_once 9> leaked &&
	run=$(stage_field one run_id) &&
	test "$(sql k.db "SELECT group_concat(state, \" \") FROM (SELECT state FROM steps WHERE run_id = $run ORDER BY idx)")" = "ok ok ok" &&
	test -s "art/runs/$run/fds" &&
	! grep -x 9 "art/runs/$run/fds" &&
	# 0, 1, 2 and 3, the directory ls opened to list them; nothing else.
	test "$(sort -n "art/runs/$run/fds" | tr "\n" " ")" = "0 1 2 3 "
'

test_expect_success 'the daemon keeps its own standard input open (no fd closed twice)' '
	echo "the daemon'"'"'s stdin" > stdin.txt &&
	cat > kstage.json <<-EOF &&
	{ "db": "k.db", "artifacts": "art", "work": "work", "cache": "cache",
	  "plans": ["plan.json"], "poll_interval": 0, "slots": 2 }
	EOF
	{ "$KSTAGE" serve -c kstage.json --listen 127.0.0.1:0 < stdin.txt > serve.out 2> serve.err & } &&
	pid=$! &&
	i=0 && until grep -q "serving" serve.out || [ $i -ge 100 ]; do sleep 0.05; i=$((i + 1)); done &&
	fd0=$(readlink /proc/$pid/fd/0) &&
	kill $pid && wait $pid;
	test "$fd0" = "$TRASH/stdin.txt"
'

test_done
