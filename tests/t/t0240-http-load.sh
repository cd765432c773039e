#!/bin/sh
# HTTP under attack and load (issue 9): connections cost no thread, so
# thousands of idle and slowloris sockets do not keep a client out; a
# header deadline closes the slow ones; one address gets at most
# max_conns_per_ip; a thousand event streams all get an event within a
# second with the daemon under 100 MB; ranges past 2^64 and chunked
# bodies over the cap get proper answers; the plan and stage JSON carry
# an ETag and a 304.
#
# The hostile clients are tests/t/http-load.py, on source addresses
# spread over 127.0.0.0/8, as clients from many machines would be.
. "$(dirname "$0")/test-lib.sh"
. "$SRC/tests/t/lib-api.sh"
trap api_cleanup EXIT

LOAD="python3 $SRC/tests/t/http-load.py"
MIB=1048576

# The client side needs a descriptor per connection too.
ulimit -n "$(ulimit -Hn)" 2> /dev/null || true
# 10,000 idle connections when the limit allows (the daemon keeps 256
# descriptors for itself, the client a few).
IDLE=10000
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt 11000 ]; then
	IDLE=$(($(ulimit -Hn) - 1000))
	echo "# the open-file hard limit is $(ulimit -Hn): holding $IDLE idle connections"
fi

# field NAME FILE: the value of "NAME=value" in FILE.
field() {
	sed -n "s/^$1=//p" "$2"
}

# restart [EXTRA_CONFIG]: the daemon again, with a fresh heap.
restart() {
	stop_daemon &&
	write_config "$1" &&
	start_daemon
}

test_expect_success 'setup: two stages, a token, a static file, the daemon' '
	two_stage_setup &&
	write_config "\"header_timeout\": 60, \"max_streams\": 2000" &&
	"$KSTAGE" token create ci -c kstage.json > token 2> /dev/null &&
	mkdir -p web &&
	seq 1 1000 > web/f.txt &&
	start_daemon &&
	wait_idle
'
DAEMON_PID=$(cat "$TRASH/daemon.pid" 2> /dev/null)

test_expect_success 'the daemon raised its open-file limit to the hard limit' '
	pid=$(cat daemon.pid) &&
	awk "/^Max open files/ { print \$4, \$5 }" /proc/$pid/limits > lim &&
	cat lim &&
	read soft hard < lim &&
	test "$soft" = "$hard"
'

test_expect_success '260 slowloris sockets (a header line every 30 s) keep no client out' '
	$LOAD siege "$(cat url)" "$(cat daemon.pid)" --slow 260 > siege1 &&
	cat siege1 &&
	test "$(field daemon_sockets siege1)" -ge 260 &&
	test "$(field probe_codes siege1)" = 200,200,200,200,200 &&
	test "$(field probe_max_ms siege1)" -lt 1000
'

test_expect_success "$IDLE idle and 300 slowloris connections held; /api/v1/plans in under 1 s" '
	$LOAD siege "$(cat url)" "$(cat daemon.pid)" --idle $IDLE --slow 300 > siege2 &&
	cat siege2 &&
	test "$(field daemon_sockets siege2)" -ge $((IDLE + 300)) &&
	test "$(field still_open_idle siege2)" = $IDLE &&
	test "$(field still_open_slow siege2)" = 300 &&
	test "$(field probe_codes siege2)" = 200,200,200,200,200 &&
	test "$(field probe_max_ms siege2)" -lt 1000
'

test_expect_success 'one address gets at most max_conns_per_ip (256); others still get in' '
	$LOAD perip "$(cat url)" 300 --addr 127.3.0.1 > perip &&
	cat perip &&
	test "$(field kept perip)" = 256 &&
	test "$(field refused perip)" = 44 &&
	test "$(field other_address_code perip)" = 200
'

test_expect_success '1000 event streams each get a new event within 1 s; RSS under 100 MB' '
	restart "\"max_streams\": 2000" &&
	$LOAD streams "$(cat url)" "$(cat daemon.pid)" k.db 1000 > streams &&
	cat streams &&
	test "$(field streams_started streams)" = 1000 &&
	test "$(field streams_with_event streams)" = 1000 &&
	test "$(field event_max_ms streams)" -lt 1000 &&
	test "$(field daemon_rss_kb streams)" -lt 102400 &&
	test "$(field daemon_rss_kb_after streams)" -lt 102400
'
DAEMON_PID=$(cat "$TRASH/daemon.pid" 2> /dev/null)

test_expect_success 'the streams are gone once their clients are' '
	i=0 &&
	while [ $i -lt 50 ]; do
		n=$(curl -s "$(cat url)/metrics" | sed -n "s/^kstage_event_streams //p") &&
		[ "$n" = 0 ] && break
		sleep 0.1
		i=$((i + 1))
	done &&
	test "$n" = 0
'

test_expect_success 'restart with "header_timeout": 2 and "max_body": 4' '
	restart "\"header_timeout\": 2, \"max_body\": 4"
'
DAEMON_PID=$(cat "$TRASH/daemon.pid" 2> /dev/null)

test_expect_success 'header deadline: slowloris that drip a line every 0.5 s are closed after 2 s' '
	$LOAD deadline "$(cat url)" --slow 50 --drip 0.5 --wait 15 > deadline &&
	cat deadline &&
	test "$(field closed deadline)" = 50 &&
	test "$(field first_closed_ms deadline)" -ge 1500 &&
	test "$(field last_closed_ms deadline)" -lt 5000 &&
	curl -s "$(cat url)/metrics" > metrics &&
	test "$(sed -n "s/^kstage_http_header_timeouts_total //p" metrics)" -ge 50 &&
	grep "^kstage_http_connections [0-9]" metrics
'

test_expect_success 'a keep-alive client asking every second is not cut by the deadline' '
	$LOAD keepalive "$(cat url)" /api/v1/plans --requests 5 --pause 1 > keep &&
	cat keep &&
	test "$(field codes keep)" = 200,200,200,200,200
'

test_expect_success 'Range: bytes=0-18446744073709551615 is 206 with the whole file' '
	size=$(wc -c < web/f.txt) &&
	for last in 18446744073709551615 99999999999999999999999999; do
		curl -sS -D hdr -o got -H "Range: bytes=0-$last" "$(cat url)/static/f.txt" &&
		head -n 1 hdr | grep "^HTTP/1.1 206" &&
		grep -i "^Content-Range: bytes 0-$((size - 1))/$size" hdr &&
		cmp got web/f.txt || exit 1
	done &&
	curl -sS -D hdr -o got -H "Range: bytes=10-18446744073709551615" "$(cat url)/static/f.txt" &&
	head -n 1 hdr | grep "^HTTP/1.1 206" &&
	tail -c +11 web/f.txt > want && cmp got want
'

test_expect_success 'Range: a first byte past the end, even past 2^64, is 416' '
	for first in 18446744073709551615 99999999999999999999999999; do
		expect_code 416 /static/f.txt -H "Range: bytes=$first-" -D hdr &&
		grep -i "^Content-Range: bytes \*/" hdr || exit 1
	done &&
	expect_code 206 /static/f.txt -H "Range: bytes=-99999999999999999999999" -D hdr &&
	cmp body web/f.txt
'

test_expect_success 'a chunked body over max_body (4 MiB) gets 413, in small chunks too' '
	$LOAD chunked "$(cat url)" /api/v1/plans/demo/stages/one/series "$(cat token)" \
		$((5 * MIB)) > big &&
	cat big &&
	test "$(field code big)" = 413 &&
	field body big | jq -e ".error | test(\"max_body: 4 MiB\")" &&
	$LOAD chunked "$(cat url)" /api/v1/plans/demo/stages/one/series "$(cat token)" \
		$((4 * MIB + 1)) --chunk 1000 > small &&
	test "$(field code small)" = 413 &&
	$LOAD chunked "$(cat url)" /api/v1/plans/demo/stages/one/series "$(cat token)" \
		$((40 * MIB)) --chunk 1048576 > huge &&
	test "$(field code huge)" = 413
'

test_expect_success 'stage JSON: an ETag, 304 for If-None-Match, a new one after a change' '
	expect_code 200 /api/v1/plans/demo/stages/one -D hdr &&
	cp body one.json &&
	grep -i "^Cache-Control: private, no-cache" hdr &&
	etag=$(sed -n "s/^[Ee][Tt][Aa][Gg]: //p" hdr | tr -d "\r") &&
	test -n "$etag" &&
	rm -f body &&
	expect_code 304 /api/v1/plans/demo/stages/one -H "If-None-Match: $etag" &&
	test ! -s body &&
	expect_code 304 /api/v1/plans/demo/stages/one -H "If-None-Match: \"x\", W/$etag" &&
	expect_code 200 /api/v1/plans/demo/stages/one -H "If-None-Match: \"x\"" &&
	cmp body one.json &&
	id=$(jq .run.id one.json) &&
	post /api/v1/runs/$id/retry > retry.json &&
	new=$(jq .run retry.json) &&
	wait_idle &&
	expect_code 200 /api/v1/plans/demo/stages/one -H "If-None-Match: $etag" -D hdr &&
	jq -e ".runs[0].id == $new" body &&
	etag2=$(sed -n "s/^[Ee][Tt][Aa][Gg]: //p" hdr | tr -d "\r") &&
	test "$etag2" != "$etag"
'

test_expect_success 'plan JSON: cached copies match a fresh daemon, byte for byte' '
	api /api/v1/plans/demo > cached.json &&
	api /api/v1/plans/demo > cached2.json &&
	cmp cached.json cached2.json &&
	restart "\"header_timeout\": 2" &&
	api /api/v1/plans/demo > fresh.json &&
	cmp cached.json fresh.json
'
DAEMON_PID=$(cat "$TRASH/daemon.pid" 2> /dev/null)

test_expect_success 'SIGTERM stops the daemon; no kstage process is left' '
	stop_daemon &&
	! pgrep -f -- "$TRASH/kstage.json"
'

test_done
