# lib-fake-stack.sh: fake_stack N TOP, sourced by the benchmarks: in the
# current directory, a repository "repo" with a base of 5 passing
# hmm-tests and a chain of N stages s1..sN (one commit each), and
# plan.json "bench" over them with the fake kernel's profile of TOP.
fake_stack() {
	export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=b@e GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=b@e
	git init -q -b base repo
	for t in open_close anon_read anon_write migrate exclusive; do
		echo "hmm-tests hmm.hmm_device_private.$t pass"
	done > repo/tests.txt
	git -C repo add -A && git -C repo commit -q -m base
	stages=
	prev=base
	for i in $(seq 1 "$1"); do
		git -C repo checkout -q -b "s$i" "$prev"
		echo "int s$i;" > "repo/s$i.c"
		git -C repo add -A && git -C repo commit -q -m "stage $i"
		prev=s$i
		stages="$stages${stages:+,} { \"name\": \"stage$i\", \"branch\": \"s$i\" }"
	done
	cat > plan.json <<-EOF2
	{ "name": "bench", "repo": "repo", "base": "base",
	  "profile": "$2/tests/fake-kernel/profile.json", "stages": [ $stages ] }
	EOF2
}
