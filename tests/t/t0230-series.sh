#!/bin/sh
# Patch series from mail onto a stage: "kstage series apply" and
# POST /api/v1/plans/P/stages/S/series.  Mails made by git format-patch
# (cover letter, base-commit, a non-ASCII author), v2 replacing v1, an
# older version refused, a patch that does not apply (named, nothing
# moved), and bad input: garbage, truncated and oversized mboxes, a mail
# with no patch, hostile subjects.
. "$(dirname "$0")/test-lib.sh"
. "$SRC/tests/t/lib-api.sh"
trap 'api_cleanup' EXIT

head_of() { git -C repo.git rev-parse "refs/heads/$1"; }
series_count() { sql k.db "SELECT count(*) FROM series"; }

# mk_series DIR VERSION EXTRA: a three-patch series on s1 in work/, as an
# mbox with a cover letter, base-commit and Message-IDs, into DIR.mbox.
mk_series() {
	git -C work checkout -q -B "series-$2" s1 &&
	fake_commit work "mm: add a.c" mm/a.c "int a;$3" &&
	GIT_AUTHOR_NAME="Zoë Müller" GIT_AUTHOR_EMAIL=zoe@example.org \
		GIT_AUTHOR_DATE="2024-03-04 05:06:07 +0200" \
		fake_commit work "mm: add b.c" mm/b.c "int b;" &&
	fake_commit work "mm: use a and b" Makefile "obj-y += memremap.o a.o b.o" &&
	git -C work format-patch -q --stdout --cover-letter --base=s1 --thread \
		--subject-prefix="PATCH $2" s1..HEAD > "$1.mbox" &&
	sed -i -e "s/\*\*\* SUBJECT HERE \*\*\*/mm: a and b/" \
		-e "s/\*\*\* BLURB HERE \*\*\*/Two files and their use./" "$1.mbox"
}

test_expect_success 'setup: a plan with two stages, mails from git format-patch' '
	fake_repo work &&
	git -C work checkout -q -b s1 &&
	fake_commit work "mm: stage one" mm/one.c "int one;" &&
	git clone -q --bare work repo.git &&
	write_profile profile.json &&
	write_plan plan.json "$TRASH/repo.git" "$TRASH/profile.json" one:s1 two:s2 &&
	write_config "\"max_body\": 1" &&
	"$KSTAGE" token create t -c kstage.json > token 2> /dev/null &&
	mk_series v1 v1 "" && mk_series v2 v2 " /* v2 */" &&
	grep -c "^Subject: \[PATCH v1 [0-3]/3\]" v1.mbox > n && test "$(cat n)" = 4 &&
	grep -q "^base-commit: $(git -C work rev-parse s1)" v1.mbox
'

test_expect_success 'series apply: each patch a commit on the stage below, from the mails' '
	"$KSTAGE" series apply -c kstage.json --plan demo --stage two v1.mbox > out &&
	test_grep "^two: \"mm: a and b\" v1, 3 patches onto" out &&
	test_grep "^two: created at" out &&
	test "$(git -C repo.git rev-list --count s1..s2)" = 3 &&
	test "$(git -C repo.git rev-parse s2~3)" = "$(head_of s1)" &&
	git -C repo.git log --format="%an|%ae|%ai|%s" s1..s2 > log &&
	test_grep "^Zoë Müller\|zoe@example.org\|2024-03-04 05:06:07 \+0200\|mm: add b.c$" log &&
	test "$(git -C repo.git show -s --format=%s s2)" = "mm: use a and b" &&
	git -C repo.git show -s --format=%B s2 > msg &&
	test_grep "^Message-ID: <.*@.*>$" msg &&
	test "$(git -C repo.git show s2:mm/a.c)" = "int a;" &&
	test "$(sql k.db "SELECT version || \"|\" || nr_patches || \"|\" || head || \"|\" || source FROM series")" = "1|3|$(head_of s2)|file" &&
	test "$(sql k.db "SELECT count(*) FROM series_patches")" = 3 &&
	test "$(sql k.db "SELECT count(*) FROM events WHERE kind = \"series-applied\"")" = 1
'

test_expect_success 'the same series again changes nothing; --dry-run moves nothing' '
	old=$(head_of s2) &&
	"$KSTAGE" series apply -c kstage.json --plan demo --stage two --dry-run v2.mbox > out &&
	test_grep "dry run: nothing moved" out &&
	test "$(head_of s2)" = "$old" &&
	test "$(series_count)" = 1
'

test_expect_success 'the API: v2 replaces the stage and its run starts at once' '
	start_daemon &&
	wait_idle &&
	runs=$(sql k.db "SELECT count(*) FROM runs") &&
	api /api/v1/plans/demo/stages/two/series -X POST --data-binary @v2.mbox \
		-H "Authorization: Bearer $(cat token)" -H "Content-Type: application/mbox" > r.json &&
	test "$(api_code)" = 201 &&
	jq -e ".version == 2 and (.commits | length) == 3 and .head == \"$(head_of s2)\"" r.json &&
	test "$(git -C repo.git show s2:mm/a.c)" = "int a; /* v2 */" &&
	i=0 &&
	while [ $i -lt 50 ] && [ "$(sql k.db "SELECT count(*) FROM runs WHERE commit_id = \"$(head_of s2)\"")" = 0 ]; do
		sleep 0.1; i=$((i + 1)); done &&
	test $i -lt 50 &&
	expect_code 200 /api/v1/plans/demo/stages/two/series &&
	jq -e "[.series[].version] == [2, 1] and (.series[0].patches | length) == 3 and
		.series[0].patches[1].author == \"Zoë Müller <zoe@example.org>\"" body
'

apply_api() {	# MBOX [QUERY]: POST the file as the series of stage two
	api "/api/v1/plans/demo/stages/two/series${2:-}" -X POST --data-binary "@$1" \
		-H "Authorization: Bearer $(cat "$TRASH/token")" -H "Content-Type: application/mbox"
}

test_expect_success 'an older version is refused unless forced' '
	old=$(head_of s2) && n=$(series_count) &&
	apply_api v1.mbox > r.json && test "$(api_code)" = 409 &&
	jq -e ".error | test(\"holds v2 .*refusing the older v1\")" r.json &&
	test "$(head_of s2)" = "$old" && test "$(series_count)" = "$n" &&
	apply_api v1.mbox "?force=1" > r.json && test "$(api_code)" = 201 &&
	test "$(git -C repo.git show s2:mm/a.c)" = "int a;" &&
	apply_api v2.mbox > r.json && test "$(api_code)" = 201
'

test_expect_success 'a patch that does not apply is named, and nothing moves' '
	git -C work checkout -q -B wrong s1 &&
	fake_commit work "kbuild: elsewhere" Makefile "obj-y += other.o" &&
	fake_commit work "kbuild: change it" Makefile "obj-y += changed.o" &&
	git -C work format-patch -q --stdout -1 > wrong.mbox &&
	old=$(head_of s2) && n=$(series_count) &&
	apply_api wrong.mbox > r.json && test "$(api_code)" = 409 &&
	jq -r .error r.json > err &&
	test_grep "patch 1 of 1 \"kbuild: change it\" does not apply: Makefile, hunk #1 @@ -1 \+1 @@" err &&
	test_grep "nothing applied, no branch moved" err &&
	test_must_fail "$KSTAGE" series apply -c kstage.json --plan demo --stage two wrong.mbox 2> err &&
	test_grep "does not apply: Makefile" err &&
	test "$(head_of s2)" = "$old" && test "$(series_count)" = "$n"
'

test_expect_success 'bad input: a clear error, nothing moved, the daemon serves on' '
	old=$(head_of s2) && n=$(series_count) &&
	head -c 3000 /dev/urandom > garbage && apply_api garbage > r.json &&
	test "$(api_code)" = 400 &&
	printf "" > empty && apply_api empty > r.json && test "$(api_code)" = 400 &&
	jq -e ".error | test(\"no mail\")" r.json &&
	printf "From: a <a@example.org>\nSubject: [PATCH] words only\n\nno diff here\n" > nopatch &&
	apply_api nopatch > r.json && test "$(api_code)" = 400 &&
	jq -e ".error | test(\"holds no patch\")" r.json &&
	half=$(( $(wc -c < v2.mbox) / 2 )) && head -c $half v2.mbox > truncated &&
	apply_api truncated > r.json && test "$(api_code)" -ge 400 &&
	api /api/v1/plans/demo/stages/two/series -X POST --data-binary @v2.mbox \
		-H "Authorization: Bearer $(cat token)" -H "Content-Type: application/json" > /dev/null &&
	test "$(api_code)" = 415 &&
	api /api/v1/plans/demo/stages/two/series -X POST --data-binary @v2.mbox > /dev/null &&
	test "$(api_code)" = 401 &&
	apply_api v2.mbox "?force=maybe" > /dev/null && test "$(api_code)" = 400 &&
	api /api/v1/plans/demo/stages/nope/series -X POST --data-binary @v2.mbox \
		-H "Authorization: Bearer $(cat token)" -H "Content-Type: application/mbox" > /dev/null &&
	test "$(api_code)" = 404 &&
	api /api/v1/plans/demo/stages/base/series -X POST --data-binary @v2.mbox \
		-H "Authorization: Bearer $(cat token)" -H "Content-Type: application/mbox" > r.json &&
	test "$(api_code)" = 409 && jq -e ".error | test(\"not a stage\")" r.json &&
	head -c 2200000 /dev/zero | tr "\\0" x > big && apply_api big > r.json &&
	test "$(api_code)" = 413 &&
	test "$(head_of s2)" = "$old" && test "$(series_count)" = "$n" &&
	expect_code 200 /api/v1/plans
'

test_expect_success 'bad input on the command line: 100 MB, garbage, missing files' '
	old=$(head_of s2) && n=$(series_count) &&
	yes "From x Mon Sep 17 00:00:00 2001" | head -c 104857600 > huge.mbox &&
	test_exit 1 "$KSTAGE" series apply -c kstage.json --plan demo --stage two huge.mbox 2> err &&
	test_grep "larger than 64 MiB" err && rm -f huge.mbox &&
	test_exit 1 "$KSTAGE" series apply -c kstage.json --plan demo --stage two garbage 2> err &&
	test_exit 1 "$KSTAGE" series apply -c kstage.json --plan demo --stage two no-such-file 2> err &&
	test_grep "no-such-file" err &&
	test_exit 2 "$KSTAGE" series apply -c kstage.json --plan demo v2.mbox 2> err &&
	test_exit 2 "$KSTAGE" series apply -c kstage.json --plan "a;b" --stage two v2.mbox 2> err &&
	test_exit 1 "$KSTAGE" series apply -c kstage.json --plan nope --stage two v2.mbox 2> err &&
	test_grep "no plan nope" err &&
	test "$(head_of s2)" = "$old" && test "$(series_count)" = "$n"
'

test_expect_success 'hostile subjects stay text: no shell, no header injection' '
	git -C work checkout -q -B hostile s1 &&
	fake_commit work "x" mm/h.c "int h;" &&
	git -C work format-patch -q --stdout -1 > h.mbox &&
	sed -i "s/^Subject: .*/Subject: =?UTF-8?Q?[PATCH]_mm:_$(printf %s "\$(touch_pwned)_\`touch_pwned2\`;_rm_-rf_x")=0D=0AX-Injected:_1?=/" h.mbox &&
	apply_api h.mbox "?force=1" > r.json && test "$(api_code)" = 201 &&
	! test -e pwned && ! test -e pwned2 && ! test -e "$TRASH/pwned" &&
	git -C repo.git show -s --format=%B s2 > msg &&
	test "$(head -n 1 msg)" = "mm: \$(touch pwned) \`touch pwned2\`; rm -rf x  X-Injected: 1" &&
	test "$(sed -n 2p msg)" = "" &&
	apply_api v2.mbox "?force=1" > /dev/null && test "$(api_code)" = 201
'

test_expect_success 'stop the daemon' '
	stop_daemon
'

test_done
