#!/bin/sh
# What the API and the plain view show of a series from mail and of a
# plan's remote: a stage's latest series (version, title, patches, where
# it came from, its Message-ID linked into the archive) and whether the
# branch still holds it ("series_current"), which a plain git push or
# update-ref of the branch ends; a plan's remote, failing.  The series'
# title is hostile HTML: /plain shows it escaped.
. "$(dirname "$0")/test-lib.sh"
. "$SRC/tests/t/lib-api.sh"
trap 'api_cleanup' EXIT

TITLE='mm/hmm: <img src=x onerror=alert(1)> "quoted" & '"'"'single'"'"
TITLE_HTML='mm/hmm: &lt;img src=x onerror=alert(1)&gt; &quot;quoted&quot; &amp; &#39;single&#39;'
LINK=https://lore.example.org/linux-mm

head_of() { git -C repo.git rev-parse "refs/heads/$1"; }

# set_title MBOX TITLE: the cover letter's subject (as text: no pattern).
set_title() {
	awk -v t="$2" '{ i = index($0, "*** SUBJECT HERE ***")
		if (i) $0 = substr($0, 1, i - 1) t substr($0, i + 20)
		print }' "$1" > "$1+" && mv "$1+" "$1"
}

# stage_json STAGE FILTER: jq FILTER on the stage in GET /api/v1/plans/demo.
stage_json() {
	expect_code 200 /api/v1/plans/demo &&
	jq -e ".stages[] | select(.name == \"$1\") | $2" "$TRASH/body"
}

# wait_head STAGE COMMIT: until the API shows the stage at COMMIT.
wait_head() {
	i=0
	until stage_json "$1" ".head == \"$2\"" > /dev/null; do
		i=$((i + 1))
		[ $i -lt 100 ] || { echo "stage $1 is not at $2"; return 1; }
		sleep 0.1
	done
}

test_expect_success 'setup: a v2 series with a hostile title applied from a file' '
	fake_repo work &&
	git -C work checkout -q -b s1 &&
	fake_commit work "mm: stage one" mm/one.c "int one;" &&
	git clone -q --bare work repo.git &&
	git clone -q --bare work up.git &&
	git -C work checkout -q -b series s1 &&
	fake_commit work "mm/hmm: build hmm.o" mm/hmm.c "int hmm;" &&
	fake_commit work "selftests/mm: test mremap" tools/mremap.c "int m;" &&
	git -C work format-patch -q --stdout --cover-letter --thread \
		--subject-prefix="PATCH v2" s1..series > v2.mbox &&
	set_title v2.mbox "$TITLE" &&
	grep -F "0/2] $TITLE" v2.mbox &&
	write_profile profile.json &&
	write_plan plan.json "$TRASH/repo.git" "$TRASH/profile.json" one:s1 two:s2 &&
	# A second plan follows a remote that refuses connections.
	cat > far.json <<-EOF &&
	{ "name": "far", "repo": "$TRASH/up.git", "base": "base", "profile": "profile.json",
	  "remote": { "url": "git://127.0.0.1:1/<i>up</i>.git" },
	  "stages": [ { "name": "one", "branch": "s1" } ] }
	EOF
	write_config &&
	sed -i "s|\"plans\": \[\"plan.json\"\]|\"plans\": [\"plan.json\", \"far.json\"]|" kstage.json &&
	"$KSTAGE" token create t -c kstage.json > token 2> /dev/null &&
	"$KSTAGE" series apply -c kstage.json --plan demo --stage two --link "$LINK/" v2.mbox > out &&
	test_grep "v2, 2 patches onto" out &&
	start_daemon
'
DAEMON_PID=$(cat "$TRASH/daemon.pid" 2> /dev/null)

test_expect_success 'the plan shows the stage'"'"'s series, current' '
	wait_head two "$(head_of s2)" &&
	msgid=$(sql k.db "SELECT message_id FROM series") &&
	test -n "$msgid" &&
	stage_json two ".series.version == 2 and .series.nr_patches == 2 and
		.series.source == \"file\" and .series.link_base == \"$LINK/\" and
		.series.head == \"$(head_of s2)\" and .series.message_id == \"$msgid\" and
		.series.by != null and .series.at > 0 and .series.id > 0 and
		.series_current == true" &&
	stage_json two ".series.title" > t.json &&
	test "$(jq -r . t.json)" = "$TITLE" &&
	stage_json one ".series == null and .series_current == false" &&
	stage_json base ".series == null" &&
	expect_code 200 /api/v1/plans/demo/stages/two &&
	jq -e ".series.version == 2 and .series_current == true and (.commits | length) == 2" body &&
	expect_code 200 /api/v1/plans &&
	jq -e ".plans[] | select(.name == \"demo\") | .stages[2].series.version == 2" body
'

test_expect_success '/plain: the series line, escaped, its Message-ID linked' '
	msgid=$(sql k.db "SELECT message_id FROM series") &&
	expect_code 200 /plain &&
	grep -F "series v2 &quot;$TITLE_HTML&quot; &middot; 2 patches &middot; from file" body &&
	grep -F "<a class=\"msgid\" href=\"$LINK/$msgid\">&lt;$msgid&gt;</a>" body &&
	! grep -F "<img" body &&
	! grep -F "moved away" body &&
	expect_code 200 /plain/plans/demo/stages/two &&
	grep -F "series v2 &quot;$TITLE_HTML&quot;" body &&
	! grep -F "<img" body
'

test_expect_success 'a plain git push moves the branch away from the series' '
	series_head=$(head_of s2) &&
	git -C work fetch -q "$TRASH/repo.git" s2:s2 &&
	git -C work checkout -q s2 &&
	fake_commit work "mm: pushed by hand" mm/hand.c "int hand;" &&
	git -C work push -q "$TRASH/repo.git" s2 &&
	post /api/v1/refresh "{}" > /dev/null && test "$(api_code)" = 202 &&
	wait_head two "$(git -C work rev-parse s2)" &&
	stage_json two ".series.version == 2 and .series.head == \"$series_head\" and
		.series_current == false" &&
	expect_code 200 /plain &&
	grep -F "the branch has moved away from this series" body &&
	expect_code 200 /plain/plans/demo/stages/two &&
	grep -F "the branch has moved away from this series" body
'

test_expect_success 'update-ref back to the series head: current again; elsewhere: not' '
	series_head=$(sql k.db "SELECT head FROM series") &&
	git -C repo.git update-ref refs/heads/s2 "$series_head" &&
	post /api/v1/refresh "{}" > /dev/null &&
	wait_head two "$series_head" &&
	stage_json two ".series_current == true" &&
	git -C repo.git update-ref refs/heads/s2 "$series_head~1" &&
	post /api/v1/refresh "{}" > /dev/null &&
	wait_head two "$(head_of s2)" &&
	stage_json two ".series_current == false" &&
	expect_code 200 /api/v1/plans/demo/stages/two &&
	jq -e ".series_current == false and .series.version == 2" body
'

test_expect_success '/plain: the failing remote of a plan, its URL escaped' '
	i=0 &&
	until curl -sS "$(cat url)/api/v1/plans/far" | jq -e ".remote.state == \"failing\"" > /dev/null; do
		i=$((i + 1)); [ $i -lt 100 ]; sleep 0.1; done &&
	expect_code 200 /plain &&
	grep -E "<p class=\"remote\">remote <code>git://127.0.0.1:1/&lt;i&gt;up&lt;/i&gt;.git</code>: <b class=\"red\">failing</b> since [0-9-]+ [0-9:]+ \([0-9]+ in a row\), next try in [0-9]+ s: <span class=\"error\">[^<]*127.0.0.1[^<]*</span></p>" body &&
	! grep -F "<i>up" body &&
	test "$(grep -c "class=\"remote\"" body)" = 1
'

test_expect_success 'stop the daemon' '
	stop_daemon
'

test_done
