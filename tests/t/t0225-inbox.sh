#!/bin/sh
# inbox_fetch_thread() against a real public-inbox-httpd (lib-inbox.sh),
# through the test-only tests/unit/inbox-get until a kstage command uses
# it: a v1 series and its v2 (In-Reply-To the v1 cover) come back as one
# thread of 6 mails; a series without a cover letter, an id holding '/'
# and '%', an unknown id (404), a closed port and a small cap.  The first
# test checks that the fixtures apply to the fake kernel's base as they
# say (tests/fixtures/series/README).
. "$(dirname "$0")/test-lib.sh"
. "$SRC/tests/t/lib-inbox.sh"

GET=$KSTAGE_BUILD/tests/unit/inbox-get
SERIES=$SRC/tests/fixtures/series
[ -x "$GET" ] || { echo "Bail out! $GET is not built (make unit)"; exit 1; }

V1_COVER=20240304100000.4711-1-author@example.com

# ids FILE: the Message-IDs of an mbox, sorted.
ids() {
	sed -n 's/^[Mm]essage-[Ii][Dd]: *<\(.*\)>$/\1/p' "$1" | sort
}

test_expect_success 'the fixtures apply to the base of fake_repo' '
	fake_repo repo &&
	sed -n "s/^base-commit: //p" "$SERIES/hmm-v1-0.eml" > want &&
	git -C repo rev-parse base > got &&
	test_cmp want got &&
	git -C repo checkout -q -b v1 base &&
	git -C repo am -q "$SERIES/hmm-v1-1.eml" "$SERIES/hmm-v1-2.eml" &&
	git -C repo checkout -q -b v2 base &&
	git -C repo am -q "$SERIES/hmm-v2-1.eml" "$SERIES/hmm-v2-2.eml" &&
	git -C repo checkout -q -b gup base &&
	git -C repo am -q "$SERIES/gup-1.eml" "$SERIES/gup-2.eml" &&
	test "$(git -C repo rev-list --count base..v1)" = 2 &&
	git -C repo show v1:Makefile > v1.mk && git -C repo show v2:Makefile > v2.mk &&
	grep -x "obj-y += hmm.o" v1.mk && ! grep migrate_device v1.mk && grep -x "obj-y += migrate_device.o" v2.mk &&
	git -C repo show v2:tests.txt | grep "mremap_shared pass" &&
	test "$(git -C repo log -1 --format=%an gup)" = "Jörg Rödel" &&
	test "$(git -C repo log -1 --format=%s v2)" = "selftests/hmm: add the mremap tests"
'

inbox_start linux-mm || { echo "Bail out! public-inbox-httpd did not start"; exit 1; }
HTTPD_PID=$INBOX_PID

test_expect_success 'setup: both hmm series and the gup series (as an mbox) delivered' '
	for f in "$SERIES"/gup-*.eml; do
		echo "From mboxrd@z Thu Jan  1 00:00:00 1970" && cat "$f" && echo
	done > gup.mbox &&
	inbox_deliver "$SERIES"/hmm-*.eml gup.mbox
'

test_expect_success 'the v1 cover brings the whole thread: v1 and v2, 6 mails' '
	"$GET" "$INBOX_URL" "<$V1_COVER>" > thread.mbox &&
	test "$(grep -c "^From " thread.mbox)" = 6 &&
	for m in 4711-1 4711-2 4711-3 5822-1 5822-2 5822-3; do
		echo "20240304100000.$m-author@example.com"
	done | sed "s/20240304100000.5822/20240311100000.5822/" | sort > want &&
	ids thread.mbox > got &&
	test_cmp want got &&
	grep "^Subject: \[PATCH v2 2/2\] selftests/hmm: add the mremap tests" thread.mbox &&
	grep "^+obj-y += migrate_device.o" thread.mbox &&
	grep "^base-commit: " thread.mbox &&
	! grep -i "joerg\|gup_test-w" thread.mbox
'

test_expect_success 'any mail of the thread brings all of it; brackets and a trailing slash are optional' '
	"$GET" "$INBOX_URL/" "20240311100000.5822-3-author@example.com" > reply.mbox &&
	ids reply.mbox > got &&
	test_cmp want got
'

test_expect_success 'a series without a cover letter: both patches, the From as sent' '
	"$GET" "$INBOX_URL" "20240305083000.815-1-joerg@example.org" > gup.out &&
	test "$(grep -c "^From " gup.out)" = 2 &&
	grep -F "From: =?UTF-8?q?J=C3=B6rg=20R=C3=B6del?= <joerg@example.org>" gup.out &&
	grep "^Subject: \[PATCH 2/2\] selftests/mm: add gup_test-w" gup.out
'

test_expect_success 'an id holding / % + & is escaped so that public-inbox finds it' '
	cat > odd.eml <<-\EOF &&
	From: A U Thor <author@example.com>
	To: linux-mm@kvack.org
	Subject: [PATCH] odd id
	Date: Wed, 6 Mar 2024 12:00:00 +0000
	Message-ID: <a/b%c+d&e=f@example.org>

	body
	EOF
	inbox_deliver odd.eml &&
	"$GET" "$INBOX_URL" "<a/b%c+d&e=f@example.org>" > odd.out &&
	test "$(grep -c "^From " odd.out)" = 1 &&
	grep "^Subject: \[PATCH\] odd id" odd.out
'

test_expect_success 'an unknown id: the 404, naming the id and the inbox' '
	test_exit 1 "$GET" "$INBOX_URL" "<nosuch@example.com>" > out 2> err &&
	test ! -s out &&
	test_grep "^inbox-get: HTTP 404: no message <nosuch@example.com> at $INBOX_URL\$" err
'

test_expect_success 'an inbox that is not there: 404 too' '
	test_exit 1 "$GET" "${INBOX_URL%/*}/nosuch" "$V1_COVER" 2> err &&
	test_grep "HTTP 404" err
'

test_expect_success 'nothing listening: connection refused' '
	port=$(inbox_free_port) &&
	test_exit 1 "$GET" "http://127.0.0.1:$port/linux-mm" "$V1_COVER" 2> err &&
	test_grep "^inbox-get: GET http://127.0.0.1:$port/linux-mm/.*: connection refused\$" err
'

test_expect_success 'a thread larger than the cap is refused' '
	test_exit 1 "$GET" "$INBOX_URL" "$V1_COVER" 2000 > out 2> err &&
	test ! -s out &&
	test_grep "thread larger than 2000 bytes" err
'

test_expect_success 'a bad id is refused before any request' '
	test_exit 1 "$GET" "http://127.0.0.1:1/x" "a b@example.com" 2> err &&
	test_grep "invalid message-id" err
'

inbox_stop
test_expect_success 'inbox_stop stops the server it started' '
	! kill -0 "$HTTPD_PID" 2> /dev/null
'

test_done
