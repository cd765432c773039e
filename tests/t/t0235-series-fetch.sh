#!/bin/sh
# A series by Message-ID from a real public-inbox-httpd (lib-inbox.sh):
# "kstage series fetch" and POST .../series/fetch.  The thread of a v1
# series holds its v2 (a reply to the v1 cover): v2 is applied, on the
# cover's base-commit, with Link: trailers; fetching it again changes
# nothing; a series without a cover letter by a non-ASCII author; an
# unknown id (404), an archive that answers garbage, one that is down:
# a clear error, nothing moved.
. "$(dirname "$0")/test-lib.sh"
. "$SRC/tests/t/lib-api.sh"
. "$SRC/tests/t/lib-inbox.sh"
trap 'api_cleanup; inbox_cleanup; [ -f "$TRASH/junk.pid" ] && kill "$(cat "$TRASH/junk.pid")" 2> /dev/null; true' EXIT

SERIES=$SRC/tests/fixtures/series
V1_COVER=20240304100000.4711-1-author@example.com
V1_PATCH1=20240304100000.4711-2-author@example.com
GUP_1=20240305083000.815-1-joerg@example.org

head_of() { git -C repo.git rev-parse "refs/heads/$1"; }
series_count() { sql k.db "SELECT count(*) FROM series"; }
fetch() {	# STAGE MSGID [ARGS...]
	stage=$1 id=$2
	shift 2
	"$KSTAGE" series fetch -c kstage.json --plan demo --stage "$stage" "$@" "$id"
}

inbox_start linux-mm || { echo "Bail out! public-inbox-httpd did not start"; exit 1; }

test_expect_success 'setup: the fixtures in the archive, a plan on the fake kernel' '
	inbox_deliver "$SERIES"/hmm-*.eml "$SERIES"/gup-*.eml &&
	fake_repo work &&
	git clone -q --bare work repo.git &&
	git -C repo.git branch s1 base &&
	write_profile profile.json &&
	write_plan plan.json "$TRASH/repo.git" "$TRASH/profile.json" one:s1 two:s2 &&
	write_config "\"inbox\": \"$INBOX_URL\"" &&
	"$KSTAGE" token create t -c kstage.json > token 2> /dev/null
'

test_expect_success 'fetch by the v1 cover: the newest complete version, v2, with Link: trailers' '
	fetch one "<$V1_COVER>" > out &&
	test_grep "^one: \"mm/hmm: build hmm.o and test mremap\" v2, 2 patches onto" out &&
	test "$(git -C repo.git rev-list --count base..s1)" = 2 &&
	test "$(git -C repo.git rev-parse s1~2)" = "$(git -C repo.git rev-parse base)" &&
	git -C repo.git show s1:tests.txt | grep -x "hmm-tests hmm.hmm_device_private.mremap_shared pass" &&
	git -C repo.git show s1:Makefile | grep -x "obj-y += migrate_device.o" &&
	git -C repo.git show -s --format=%B s1 > msg &&
	test_grep "^Link: $INBOX_URL/20240311100000\.5822-3-author@example\.com$" msg &&
	test "$(git -C repo.git show -s --format=%s s1)" = "selftests/hmm: add the mremap tests" &&
	test "$(sql k.db "SELECT version || \"|\" || source || \"|\" || link_base || \"|\" || message_id FROM series")" = \
		"2|inbox|$INBOX_URL|20240311100000.5822-1-author@example.com"
'

test_expect_success 'the same thread again (by a v1 patch): nothing new' '
	old=$(head_of s1) &&
	fetch one "$V1_PATCH1" > out &&
	test_grep "already at" out &&
	test "$(head_of s1)" = "$old" &&
	test "$(series_count)" = 1
'

test_expect_success 'the API: a series without a cover, onto its base-commit, by Jörg' '
	start_daemon &&
	post /api/v1/plans/demo/stages/two/series/fetch "{\"message_id\": \"<$GUP_1>\"}" > r.json &&
	test "$(api_code)" = 201 &&
	jq -e ".version == 1 and (.commits | length) == 2 and .onto == \"$(git -C repo.git rev-parse base)\"" r.json &&
	test "$(git -C repo.git log -1 --format=%an s2)" = "Jörg Rödel" &&
	git -C repo.git show s2:tests.txt | grep -x "gup_test-w ioctl_status_0 pass" &&
	expect_code 200 /api/v1/plans/demo/stages/two/series &&
	jq -e ".series[0].source == \"inbox\" and .series[0].by == \"t\"" body
'

test_expect_success 'an unknown Message-ID: 404 from the archive, said plainly; nothing moved' '
	old=$(head_of s2) && n=$(series_count) &&
	post /api/v1/plans/demo/stages/two/series/fetch "{\"message_id\": \"nope@example.org\"}" > r.json &&
	test "$(api_code)" = 502 &&
	jq -e ".error | test(\"HTTP 404: no message <nope@example.org>\")" r.json &&
	test_exit 1 fetch two "nope@example.org" 2> err &&
	test_grep "HTTP 404" err &&
	post /api/v1/plans/demo/stages/two/series/fetch "{\"message_id\": \"a b\"}" > r.json &&
	test "$(api_code)" -ge 400 &&
	post /api/v1/plans/demo/stages/two/series/fetch "{\"message_id\": \"x\", \"url\": \"http://evil\"}" > r.json &&
	test "$(api_code)" = 400 &&
	test "$(head_of s2)" = "$old" && test "$(series_count)" = "$n"
'

test_expect_success 'an archive that answers garbage, one that is down: clear errors' '
	old=$(head_of s2) && n=$(series_count) &&
	mkdir -p junk/list/x@y && head -c 5000 /dev/urandom > junk/list/x@y/t.mbox.gz &&
	port=$(inbox_free_port) &&
	{ python3 -m http.server --directory "$TRASH/junk" --bind 127.0.0.1 "$port" > junk.log 2>&1 & } &&
	echo $! > junk.pid &&
	i=0 && until curl -s -o /dev/null "http://127.0.0.1:$port/" || [ $i -ge 50 ]; do
		sleep 0.1; i=$((i + 1)); done &&
	test_exit 1 fetch two "x@y" --inbox "http://127.0.0.1:$port/list" 2> err &&
	test_grep "not gzip data" err &&
	kill "$(cat junk.pid)" && rm junk.pid &&
	test_exit 1 fetch two "x@y" --inbox "http://127.0.0.1:$port/list" 2> err &&
	test_grep "connection refused|Could not connect|Couldn.t connect" err &&
	test_exit 2 fetch two "x@y" --inbox "file:///etc" 2> err &&
	test "$(head_of s2)" = "$old" && test "$(series_count)" = "$n" &&
	expect_code 200 /api/v1/plans
'

test_expect_success 'stop the daemon' '
	stop_daemon
'

test_done
