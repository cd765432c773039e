#!/bin/sh
# The body cap (max_body in the config, in MiB): a request body over it
# gets 413 with a JSON error that names the limit, whether its size was
# declared (Content-Length) or not (chunked); a body within it is read
# and handled; the JSON bodies of writes keep their own 1 MiB cap; the
# daemon keeps serving and nothing changes.
. "$(dirname "$0")/test-lib.sh"
. "$SRC/tests/t/lib-api.sh"
trap api_cleanup EXIT

MIB=1048576

# body FILE SIZE: a JSON request for a bisection of stage one (which has
# no regressions: a 409 once it is read), padded with spaces to SIZE bytes.
body() {
	printf "{\"plan\": \"demo\", \"stage\": \"one\"}" > "$1" &&
	head -c $(($2 - 32)) /dev/zero | tr "\0" " " >> "$1" &&
	test "$(wc -c < "$1")" = "$2"
}

# send METHOD PATH FILE [CURL_ARGS...]: the file as a JSON body, with the token.
send() {
	method=$1 path=$2 file=$3
	shift 3
	api "$path" -X "$method" -H "Authorization: Bearer $(cat token)" \
		-H "Content-Type: application/json" --data-binary @"$file" "$@" > /dev/null
}

test_expect_success 'setup: two stages, a token, the daemon with the default cap' '
	two_stage_setup &&
	"$KSTAGE" token create ci -c kstage.json > token 2> /dev/null &&
	body over.json $((MIB + 1)) &&
	body at.json $MIB &&
	body under.json $((MIB - 1)) &&
	body two.json $((2 * MIB)) &&
	body six.json $((6 * MIB)) &&
	start_daemon &&
	wait_idle &&
	state_snapshot > before
'
DAEMON_PID=$(cat "$TRASH/daemon.pid" 2> /dev/null)

test_expect_success 'default max_body (8 MiB): a 2 MiB body is read on a read route' '
	send GET /api/v1/plans two.json &&
	test "$(api_code)" = 200 &&
	jq -e ".plans | length == 1" body
'

test_expect_success 'default max_body: a JSON body of a write is still capped at 1 MiB' '
	send POST /api/v1/bisections two.json &&
	test "$(api_code)" = 413 &&
	jq -e ".error | test(\"at most 1048576\") and test(\"JSON\")" body &&
	send POST /api/v1/bisections two.json -H "Transfer-Encoding: chunked" &&
	test "$(api_code)" = 413 &&
	jq -e ".error | test(\"at most 1048576\")" body
'

test_expect_success 'restart with "max_body": 1' '
	stop_daemon &&
	write_config "\"max_body\": 1" &&
	start_daemon
'
DAEMON_PID=$(cat "$TRASH/daemon.pid" 2> /dev/null)

test_expect_success 'max_body 1: 1 MiB + 1 byte with Content-Length gets 413 naming the limit' '
	send POST /api/v1/bisections over.json &&
	test "$(api_code)" = 413 &&
	jq -e ".error | test(\"1048577 bytes\") and test(\"at most 1048576\") and
		test(\"max_body\")" body
'

test_expect_success 'max_body 1: 1 MiB + 1 byte chunked (no Content-Length) gets 413' '
	send POST /api/v1/bisections over.json -H "Transfer-Encoding: chunked" &&
	test "$(api_code)" = 413 &&
	jq -e ".error | test(\"at most 1048576\") and test(\"max_body\")" body
'

test_expect_success 'max_body 1: a chunked body far over the cap still gets its 413' '
	send POST /api/v1/bisections six.json -H "Transfer-Encoding: chunked" &&
	test "$(api_code)" = 413 &&
	send POST /api/v1/bisections six.json &&
	test "$(api_code)" = 413
'

test_expect_success 'max_body 1: the cap holds for every route, reads too' '
	send GET /api/v1/plans over.json &&
	test "$(api_code)" = 413 &&
	jq -e ".error | test(\"max_body\")" body &&
	send GET /api/v1/plans over.json -H "Transfer-Encoding: chunked" &&
	test "$(api_code)" = 413
'

test_expect_success 'max_body 1: bodies at and just under the cap are read and handled' '
	for f in at.json under.json; do
		send POST /api/v1/bisections $f &&
		test "$(api_code)" = 409 &&
		jq -e ".error | test(\"no regressions\")" body &&
		send POST /api/v1/bisections $f -H "Transfer-Encoding: chunked" &&
		test "$(api_code)" = 409 || exit 1
	done
'

test_expect_success 'the daemon keeps serving, and nothing changed' '
	kill -0 "$(cat daemon.pid)" &&
	expect_code 200 /api/v1/plans &&
	jq -e ".plans[0].name == \"demo\"" body &&
	post /api/v1/bisections "{\"plan\": \"demo\", \"stage\": \"one\"}" > /dev/null &&
	test "$(api_code)" = 409 &&
	state_snapshot > after &&
	test_cmp before after
'

test_expect_success 'SIGTERM stops the daemon' '
	stop_daemon
'

test_done
