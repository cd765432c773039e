#!/bin/sh
# Every commit of a stage is built and checked (the profile's
# "each_commit"): a commit that does not build, new compiler warnings and
# checkpatch problems are results of their own, per commit, shown beside
# the stage's verdict and never changing it; the head's run goes first;
# builds are reused by tree, checkpatch by commit; a long range is capped.
. "$(dirname "$0")/test-lib.sh"
. "$SRC/tests/t/lib-api.sh"
trap api_cleanup EXIT

LONG=$(printf "x%.0s" $(seq 1 120))
# As kbuild with O= prints them: "@" is the slot's tree (the fake build
# prints its real path), which differs from slot to slot.
W_OLD="@/mm/a.c:10:5: warning: unused variable 'a' [-Wunused-variable]"
W_MOVED="@/mm/a.c:12:5: warning: unused variable 'a' [-Wunused-variable]"
W_NEW="@/mm/memremap.c:181:12: warning: unused variable 'x' [-Wunused-variable]"

# each_profile [EACH_JSON]: the fake profile with "each_commit".
each_profile() {
	write_profile profile.json 60 60 "${1:-\"each_commit\": [\"build\", \"checkpatch\"]}"
}

# commit_field SEQ JQ: a field of commit SEQ (1-based) of stage one's checks.
commit_field() {
	jq -r ".each_commit.commits[$(($1 - 1))].$2" stage.json
}

test_expect_success 'setup: a base with the checkpatch stand-in and a warning; stage one of 4 commits' '
	fake_repo repo &&
	mkdir -p repo/scripts &&
	cp "$FAKE/checkpatch.pl" repo/scripts/checkpatch.pl &&
	git -C repo add scripts &&
	fake_commit repo "scripts: checkpatch" BUILD_WARNINGS "$W_OLD" &&
	git -C repo checkout -q -b s1 &&
	fake_commit repo "mm: one" mm/a.c "int a;" &&
	fake_commit repo "mm: two does not build" BUILD_ERROR "mm/memremap.c:3:1: error: expected ; before }" &&
	fake_commit repo "mm: three warns" BUILD_ERROR - \
		BUILD_WARNINGS "$(printf "%s\n%s" "$W_MOVED" "$W_NEW")" &&
	fake_commit repo "mm: four has a long line" mm/long.c "int $LONG;" &&
	each_profile &&
	write_plan plan.json "$TRASH/repo" "$TRASH/profile.json" one:s1
'

test_expect_success 'one pass on two slots: the stage is green, every commit checked, every tree built once' '
	kstage_once --slots 2 &&
	test "$(sql k.db "SELECT count(DISTINCT slot) FROM runs WHERE reason = \"commit\"")" = 2 &&
	test "$(stage_field one verdict)" = green &&
	test "$(sql k.db "SELECT count(*) FROM runs WHERE reason = \"commit\" AND state = \"done\"")" = 4 &&
	test "$(runs_of build)" = 5 &&
	test_grep "^      commits: 3/4 commits build, 1 with new warnings, 1 checkpatch warning$" out &&
	test "$(sql k.db "SELECT count(*) FROM each_commits")" = 5 &&
	test "$(sql k.db "SELECT count(*) FROM each_builds")" = 5 &&
	test "$(sql k.db "SELECT count(*) FROM each_checkpatch")" = 4
'

test_expect_success 'the head ran first: no commit run started before it' '
	head=$(sql k.db "SELECT run_id FROM stages WHERE name = \"one\"") &&
	test "$(sql k.db "SELECT reason FROM runs WHERE id = $head")" = change &&
	test "$(sql k.db "SELECT count(*) FROM runs WHERE reason = \"commit\" AND
		started_at < (SELECT started_at FROM runs WHERE id = $head)")" = 0 &&
	test "$(sql k.db "SELECT min(id) FROM runs WHERE reason = \"commit\"")" -gt "$head"
'

test_expect_success 'the API shows each commit with its checks' '
	write_config "\"webhooks\": [{\"url\": \"http://127.0.0.1:9/hook\", \"events\": [\"run-finished\"]}]" &&
	"$KSTAGE" token create ci -c kstage.json > token 2> err &&
	start_daemon &&
	wait_idle &&
	api /api/v1/plans/demo/stages/one > stage.json &&
	test "$(api_code)" = 200 &&
	jq -e ".verdict == \"green\" and .each_commit.total == 4 and .each_commit.checked == 4" stage.json &&
	jq -e "[.each_commit.commits[].subject] == [\"mm: one\", \"mm: two does not build\",
		\"mm: three warns\", \"mm: four has a long line\"]" stage.json &&
	jq -e "[.each_commit.commits[].build.status] == [\"pass\", \"fail\", \"pass\", \"pass\"]" stage.json &&
	jq -e "[.each_commit.commits[].checkpatch.status] == [\"pass\", \"pass\", \"pass\", \"warn\"]" stage.json &&
	test "$(commit_field 1 commit)" = "$(git -C repo rev-parse s1~3)" &&
	test "$(commit_field 4 commit)" = "$(git -C repo rev-parse s1)" &&
	test "$(commit_field 2 build.detail)" = "make[1]: *** [scripts/Makefile.build:229: mm/memremap.o] Error 1" &&
	test "$(commit_field 2 build_warnings)" = null
'

test_expect_success 'new warnings are against the last commit that built, line numbers ignored' '
	test "$(commit_field 1 build_warnings.status)" = pass &&
	test "$(commit_field 1 build.warnings)" = 1 &&
	test "$(commit_field 3 build_warnings.status)" = warn &&
	jq -e ".each_commit.commits[2].build_warnings.new == [\"${W_NEW#@/}\"]" stage.json &&
	test "$(commit_field 3 build.warnings)" = 2 &&
	test "$(commit_field 4 build_warnings.status)" = pass &&
	jq -e ".each_commit.commits[3].build_warnings.new == []" stage.json
'

test_expect_success 'checkpatch: counts and its lines' '
	test "$(commit_field 4 checkpatch.warnings)" = 1 &&
	test "$(commit_field 4 checkpatch.errors)" = 0 &&
	jq -e ".each_commit.commits[3].checkpatch.lines ==
		[\"WARNING: line length of 125 exceeds 100 columns\"]" stage.json &&
	run=$(commit_field 4 checkpatch.run_id) &&
	api "/api/v1/runs/$run" > run.json &&
	jq -e ".reason == \"commit\" and .steps[1].name == \"checkpatch\"" run.json &&
	api "/api/v1/runs/$run/steps/1/log" > cp.log &&
	test_grep "^total: 0 errors, 1 warnings, 1 lines checked" cp.log
'

test_expect_success 'a commit check retried is a commit check; its outcome replaces the old one' '
	run=$(commit_field 4 checkpatch.run_id) &&
	post "/api/v1/runs/$run/retry" > retry.json &&
	test "$(api_code)" = 202 &&
	new=$(jq -r .run retry.json) &&
	wait_idle &&
	test "$(sql k.db "SELECT reason || \" \" || replace(steps, char(10), \",\") FROM runs WHERE id = $new")" = "commit checkpatch" &&
	test "$(sql k.db "SELECT run_id FROM each_checkpatch WHERE commit_id = \"$(commit_field 4 commit)\"")" = "$new" &&
	api /api/v1/plans/demo/stages/one > stage.json &&
	test "$(commit_field 4 checkpatch.run_id)" = "$new" &&
	test "$(commit_field 4 checkpatch.status)" = warn &&
	test "$(sql k.db "SELECT count(*) FROM events WHERE run_id = $new AND kind = \"run-finished\"
		AND json_extract(data, \"\$.reason\") = \"commit\"")" = 1 &&
	test "$(sql k.db "SELECT count(*) FROM outbox WHERE run_id = $new")" = 0
'

test_expect_success 'the summary beside the verdict; commit runs are not stage runs' '
	test "$(jq -r .each_commit.summary.text stage.json)" = \
		"3/4 commits build, 1 with new warnings, 1 checkpatch warning" &&
	jq -e ".each_commit.summary | .build_fail == 1 and .checkpatch_warn == 1 and .new_warnings == 1" stage.json &&
	jq -e "[.runs[].reason] | all(. != \"commit\")" stage.json &&
	api /api/v1/plans/demo > plan-api.json &&
	jq -e ".stages[1].verdict == \"green\"" plan-api.json &&
	jq -e ".stages[1].each_commit | .summary.text == \"3/4 commits build, 1 with new warnings, 1 checkpatch warning\"
		and .commits == null and .checked == 4" plan-api.json &&
	jq -e ".stages[0].each_commit == null" plan-api.json &&
	stop_daemon
'

test_expect_success 'a reworded series: checkpatch again per commit, no tree built twice' '
	builds=$(runs_of build) &&
	git -C repo checkout -q -B s1r base &&
	for c in $(git -C repo rev-list --reverse --first-parent base..s1); do
		parent=$(git -C repo rev-parse HEAD) &&
		msg="$(git -C repo log -1 --format=%s "$c") (v2)" &&
		new=$(git -C repo commit-tree "$c^{tree}" -p "$parent" -m "$msg") &&
		git -C repo reset -q --hard "$new" || return 1
	done &&
	git -C repo branch -f s1 s1r &&
	kstage_once &&
	test "$(runs_of build)" = "$builds" &&
	test "$(sql k.db "SELECT count(*) FROM each_checkpatch")" = 8 &&
	test "$(sql k.db "SELECT count(*) FROM each_builds")" = 5 &&
	sort "$TRASH/fake.log" | uniq -d > twice &&
	test_must_fail grep "^build " twice
'

test_expect_success 'a profile with a bad each_commit is refused, naming the field' '
	for bad in "\"each_commit\": [\"lint\"]" "\"each_commit\": [\"build\", \"build\"]" \
		"\"each_commit\": \"build\"" "\"each_commit\": []" \
		"\"each_commit\": [\"build\"], \"each_commit_max\": 0" \
		"\"each_commit\": [\"build\", \"checkpatch\", \"boot\"]"; do
		each_profile "$bad" &&
		test_exit 2 "$KSTAGE" check --plan plan.json > out 2> err &&
		test_grep "profile.json:[0-9]+:[0-9]+: each_commit" err || return 1
	done &&
	each_profile "\"each_commit\": [\"lint\"]" &&
	"$KSTAGE" check --plan plan.json 2> err || true &&
	test_grep "each_commit\[0\]: \"lint\" is not a check" err &&
	sed "s/\"name\": \"build\"/\"name\": \"make\"/" profile.json > p2 && mv p2 profile.json &&
	sed -i "s/\"lint\"/\"checkpatch\"/" profile.json &&
	test_exit 2 "$KSTAGE" check --plan plan.json 2> err &&
	test_grep "needs a step named \"build\"" err
'

test_expect_success 'a range of 300 commits: the newest 50 are checked, the stage says so' '
	each_profile &&
	git -C repo checkout -q -b s2 s1 &&
	for i in $(seq 1 300); do
		git -C repo commit -q --allow-empty -m "mm: empty $i" || return 1
	done &&
	write_plan plan.json "$TRASH/repo" "$TRASH/profile.json" one:s1 two:s2 &&
	kstage_once &&
	two=$(sql k.db "SELECT id FROM stages WHERE name = \"two\"") &&
	test "$(sql k.db "SELECT count(*) FROM each_commits WHERE stage_id = $two AND seq > 0")" = 50 &&
	test "$(sql k.db "SELECT total FROM each_commits WHERE stage_id = $two AND seq = 0")" = 300 &&
	test "$(sql k.db "SELECT subject FROM each_commits WHERE stage_id = $two ORDER BY seq LIMIT 1 OFFSET 1")" = "mm: empty 251" &&
	test "$(sql k.db "SELECT count(*) FROM runs WHERE stage_id = $two AND reason = \"commit\"")" -le 51 &&
	test "$(stage_field two verdict)" = green &&
	test_grep "commits: 50/50 commits build, checkpatch clean \(the newest only\)" out &&
	start_daemon &&
	api /api/v1/plans/demo/stages/two > stage.json &&
	jq -e ".each_commit.total == 300 and .each_commit.checked == 50 and
		(.each_commit.commits | length) == 50" stage.json &&
	test "$(jq -r .each_commit.summary.text stage.json)" = "50/50 commits build, checkpatch clean" &&
	stop_daemon
'

test_expect_success 'a smaller each_commit_max lists fewer commits of the same head' '
	each_profile "\"each_commit\": [\"build\", \"checkpatch\"], \"each_commit_max\": 10" &&
	kstage_once &&
	two=$(sql k.db "SELECT id FROM stages WHERE name = \"two\"") &&
	test "$(sql k.db "SELECT count(*) FROM each_commits WHERE stage_id = $two AND seq > 0")" = 10 &&
	test "$(sql k.db "SELECT subject FROM each_commits WHERE stage_id = $two AND seq = 1")" = "mm: empty 291" &&
	test_grep "commits: 10/10 commits build, checkpatch clean \(the newest only\)" out &&
	each_profile
'

test_expect_success 'a stage without commits of its own has nothing to check, pass after pass' '
	git -C repo branch -f empty s2 &&
	write_plan plan.json "$TRASH/repo" "$TRASH/profile.json" one:s1 two:s2 empty:empty &&
	kstage_once &&
	kstage_once &&
	empty=$(sql k.db "SELECT id FROM stages WHERE name = \"empty\"") &&
	test "$(sql k.db "SELECT count(*) FROM each_commits WHERE stage_id = $empty")" = 0 &&
	test "$(sql k.db "SELECT count(*) FROM events WHERE kind = \"each-commits\" AND stage_id = $empty")" = 0 &&
	test_grep "^  3   empty" out &&
	test "$(grep -A1 "^  3   empty" out | grep -c "commits:")" = 0
'

test_expect_success 'each_commit off: the same digest, nothing runs again, the lists go' '
	digest=$(sql k.db "SELECT profile_digest FROM plans") &&
	builds=$(runs_of build) &&
	write_profile profile.json &&
	kstage_once &&
	test "$(sql k.db "SELECT profile_digest FROM plans")" = "$digest" &&
	test "$(runs_of build)" = "$builds" &&
	test "$(sql k.db "SELECT count(*) FROM each_commits")" = 0 &&
	test "$(grep -c "commits:" out)" = 0
'

test_expect_success 'a new head does not wait behind a slow commit check: the check yields its slot' '
	each_profile &&
	git -C repo checkout -q -b s3 base &&
	fake_commit repo "mm: slow to build" BUILD_SLEEP 60 &&
	fake_commit repo "mm: fast again" BUILD_SLEEP - &&
	write_plan plan.json "$TRASH/repo" "$TRASH/profile.json" three:s3 &&
	rm -f k.db k.db-wal k.db-shm &&
	write_config "\"slots\": 1" &&
	"$KSTAGE" token create ci -c kstage.json > token 2> err &&
	start_daemon &&
	slow=$(git -C repo rev-parse s3~1) &&
	wait_for 30 "SELECT count(*) = 1 FROM runs WHERE reason = \"commit\" AND commit_id = \"$slow\"
		AND state = \"running\" AND current_step = \"build\"" &&
	fake_commit repo "mm: a new head" mm/new.c "int n;" &&
	head=$(git -C repo rev-parse s3) &&
	post /api/v1/refresh > /dev/null &&
	test "$(api_code)" = 202 &&
	wait_for 20 "SELECT count(*) = 1 FROM runs WHERE commit_id = \"$head\" AND reason = \"change\"
		AND state = \"done\"" &&
	test "$(sql k.db "SELECT verdict FROM runs WHERE commit_id = \"$head\" AND reason = \"change\"")" = pass &&
	test_grep "a commit check gives its slot to run" serve.err &&
	test "$(sql k.db "SELECT count(*) FROM each_builds WHERE run_id IN
		(SELECT id FROM runs WHERE commit_id = \"$slow\")")" = 0 &&
	stop_daemon &&
	test "$(sql k.db "SELECT state FROM runs WHERE reason = \"commit\" AND commit_id = \"$slow\"")" = queued
'

test_done
