#!/bin/sh
# Test names with hostile characters (quotes, backslashes, HTML and
# script, control characters, terminal escapes, invalid UTF-8) go through
# the parser, the results, the comparison, the API, the event stream and
# the plain HTML view intact where they are harmless and cleaned where
# daemon/text.h says so: escape sequences and carriage returns dropped,
# a tab a space, other control characters and invalid bytes '?'.  JSON
# stays JSON, HTML stays inert.  The dashboard's side is the browser test
# "hostile test names are shown as text" in tests/web/dashboard.test.mjs.
. "$(dirname "$0")/test-lib.sh"
. "$SRC/tests/t/lib-api.sh"
trap api_cleanup EXIT

# The names as the daemon stores them (suite "hostile"), one per line:
# 1 quotes and backslashes and 2 HTML that would run a script, stored as
# printed; 3 control characters (\001, \033[31m...\033[0m, a tab, DEL)
# and 4 invalid UTF-8 (\377\376), cleaned; 5 a bit of everything, the
# one that regresses on stage two.
cat > "$TRASH/names" <<-\EOF
hostile/q"uo"te\back\\slash\"end
hostile/</script><img src=x onerror=alert(1)>
hostile/ctl?bellred tab?del
hostile/bad??utf8-ü
hostile/reg"q"\ </script><img src=x onerror=alert(1)> red???
EOF
name() {
	sed -n "${1}p" "$TRASH/names"
}
REG_LINE=5

# hostile_tests OUTCOME: the tree's tests.txt lines (printf %b escapes,
# see tests/fake-kernel/README.md: ESCAPES) that print the names above;
# OUTCOME is the one of REG.
hostile_tests() {
	cat <<-\EOF
	hostile q"uo"te\\back\\\\slash\\"end pass
	hostile </script><img\040src=x\040onerror=alert(1)> pass
	hostile ctl\001bell\033[31mred\033[0m\ttab\177del pass
	hostile bad\377\376utf8-ü pass
	EOF
	printf '%s %s\n' 'hostile reg"q"\\\040</script><img\040src=x\040onerror=alert(1)>\040\033[31mred\001\377\376' "$1"
}

# json_ok FILE: FILE is one valid JSON document (python's parser, which
# refuses invalid UTF-8 and raw control characters in strings).
json_ok() {
	python3 -c 'import json, sys; json.load(open(sys.argv[1], encoding="utf-8"))' "$1"
}

# has_name FILE JQ_ARRAY_OF_NAMES N: name N is in the array exactly once.
has_name() {
	jq -e --arg n "$(name "$3")" "[$2 | select(. == \$n)] | length == 1" "$1" > /dev/null || {
		echo "name $3 ($(name "$3")) is not in $2 of $1 exactly once:"
		jq "$2" "$1" | head -n 40
		return 1
	}
}

test_expect_success 'setup: stage one passes hostile names, stage two fails one of them' '
	fake_repo repo &&
	git -C repo checkout -q -b s1 &&
	hostile_tests pass >> repo/tests.txt &&
	: > repo/ESCAPES &&
	git -C repo add tests.txt ESCAPES &&
	fake_commit repo "mm: hostile test names" &&
	git -C repo checkout -q -b s2 &&
	grep -v "^hostile reg" repo/tests.txt > t && mv t repo/tests.txt &&
	hostile_tests fail | tail -n 1 >> repo/tests.txt &&
	git -C repo add tests.txt &&
	fake_commit repo "mm: break the hostile one" &&
	write_profile profile.json &&
	write_plan plan.json "$TRASH/repo" "$TRASH/profile.json" one:s1 two:s2 &&
	write_config &&
	"$KSTAGE" token create ci -c kstage.json > token 2> /dev/null &&
	start_daemon &&
	wait_idle 60 &&
	test "$(stage_field one verdict)" = green &&
	test "$(stage_field two verdict)" = red
'
DAEMON_PID=$(cat "$TRASH/daemon.pid" 2> /dev/null)

test_expect_success 'the console really carried the raw bytes' '
	run=$(stage_field two run_id) &&
	api /api/v1/runs/$run/steps/1/log > log &&
	grep -q "$(printf "ctl\001bell\033\\[31mred\033\\[0m\ttab\177del")" log &&
	grep -q "$(printf "bad\377\376utf8")" log &&
	grep -qF "<img src=x onerror=alert(1)>" log
'

test_expect_success 'GET /runs/ID/results: valid JSON with every name as stored' '
	run=$(stage_field two run_id) &&
	expect_code 200 /api/v1/runs/$run/results &&
	json_ok body &&
	for i in 1 2 3 4 5; do has_name body ".results[].test" $i || exit 1; done &&
	jq -e --arg n "$(name $REG_LINE)" \
		"[.results[] | select(.test == \$n) | .status] == [\"fail\"]" body &&
	test "$(jq "[.results[] | select(.test | startswith(\"hostile/\"))] | length" body)" = 5
'

test_expect_success 'the database holds the cleaned names only, the API no control bytes' '
	sql k.db "SELECT DISTINCT test FROM results WHERE test LIKE '\''hostile/%'\''" |
		sort > stored &&
	sort names > want &&
	test_cmp want stored &&
	run=$(stage_field two run_id) &&
	expect_code 200 /api/v1/runs/$run/results &&
	python3 -c "
import sys
b = open(\"body\", \"rb\").read()
sys.exit(1 if [c for c in b if c < 0x20 and c != 0x0a] else 0)"
'

test_expect_success 'the stage: valid JSON, the regression in changes and results' '
	expect_code 200 /api/v1/plans/demo/stages/two &&
	json_ok body &&
	jq -e --arg n "$(name $REG_LINE)" "[.changes[] | select(.test == \$n) |
		[.kind, .before, .after]] == [[\"regression\", \"pass\", \"fail\"]]" body &&
	for i in 1 2 3 4 5; do has_name body ".results[].test" $i || exit 1; done &&
	jq -e ".regressions == 1" body &&
	expect_code 200 /api/v1/plans/demo/stages/one &&
	json_ok body &&
	for i in 1 2 3 4 5; do has_name body ".results[].test" $i || exit 1; done
'

test_expect_success 'the matrix: valid JSON, one row per name, the regression marked' '
	expect_code 200 /api/v1/plans/demo/matrix &&
	json_ok body &&
	for i in 1 2 3 4 5; do has_name body ".tests[].test" $i || exit 1; done &&
	jq -e --arg n "$(name $REG_LINE)" "[.tests[] | select(.test == \$n)][0] |
		.status == [null, \"pass\", \"fail\"] and .kind[2] == \"regression\"" body
'

test_expect_success 'the history of a hostile name, asked for by that name' '
	n=$(name $REG_LINE) &&
	enc=$(jq -rn --arg n "$n" "\$n | @uri") &&
	expect_code 200 "/api/v1/plans/demo/history?test=$enc" &&
	json_ok body &&
	jq -e --arg n "$n" ".test == \$n and ([.history[].status] | sort) == [\"fail\", \"pass\"]" body
'

# The bisection that the regression started cannot select the test: the
# boot gets the name as stored (KSTAGE_TESTS), which is not the name the
# test prints.  How it ends is not this test's business; that its name
# goes through the bisections table and API intact is.
test_expect_success 'the bisection of the regression carries its name' '
	expect_code 200 "/api/v1/bisections?plan=demo" &&
	json_ok body &&
	id=$(jq ".bisections[0].id" body) &&
	jq -e --arg n "$(name $REG_LINE)" ".bisections[0].tests == [\$n]" body &&
	expect_code 200 /api/v1/bisections/$id &&
	json_ok body &&
	jq -e --arg n "$(name $REG_LINE)" ".tests == [\$n]" body
'

test_expect_success 'the event stream: every data line is JSON, every payload an object' '
	curl -sN -m 3 "$(cat url)/api/v1/events?since=0" > stream || test $? = 28 &&
	grep "^data: " stream | sed "s/^data: //" > data &&
	test -s data &&
	python3 -c "
import json, sys
n = 0
for i, line in enumerate(open(\"data\", encoding=\"utf-8\")):
    ev = json.loads(line)
    if ev[\"data\"] is not None and not isinstance(ev[\"data\"], dict):
        print(\"event\", ev[\"id\"], ev[\"kind\"], \"data is not an object:\", repr(ev[\"data\"]))
        n += 1
sys.exit(1 if n else 0)"
'

# The stream names the test that regressed: "stage-verdict" carries the
# stage's regressions and "bisection" its tests, in payloads built with
# jansson, so the hostile name arrives escaped (the test above checks
# that every payload is still a JSON object).
test_expect_success 'the event stream names the test that regressed' '
	n=$(name $REG_LINE) &&
	grep "^data: " stream | sed "s/^data: //" > data &&
	jq -e -s --arg n "$n" "[.[] | .. | strings | select(contains(\$n))] | length > 0" data
'

test_expect_success '/plain shows the names escaped, never as markup' '
	expect_code 200 /plain/plans/demo/stages/two &&
	! grep -q "<img" body &&
	! grep -q "</script>" body &&
	for i in 1 2 3 4 5; do
		python3 -c "import html, sys; print(html.escape(sys.argv[1], quote=True).replace(\"&#x27;\", \"&#39;\"))" \
			"$(name $i)" > want &&
		grep -qF -f want body || { echo "not escaped as $(cat want)"; exit 1; }
	done
'

test_expect_success 'the daemon stops cleanly' '
	stop_daemon &&
	! pgrep -f -- "$TRASH/kstage.json"
'

test_done
