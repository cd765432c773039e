# lib-notify.sh: helpers for the notification tests (t027N-*.sh), sourced
# after lib-api.sh.  Receivers run in the background with their pid in
# $TRASH/NAME.pid; notify_cleanup (the EXIT trap) stops every one left.
#
#   notify_python [MODULE]     $PY: a python3 that has MODULE (Debian's
#                              python3-aiosmtpd is for Debian's python3,
#                              which a pyenv or venv python3 may hide);
#                              skips the whole test without one
#   start_receiver NAME FILE CMD...
#                              CMD in the background as NAME, until it
#                              has written FILE (its port)
#   stop_receivers             stop them all (the last test does it:
#                              test_done removes $TRASH and the pid files)

notify_python() {
	PY=
	for p in python3 /usr/bin/python3; do
		if "$p" -c "import ${1:-sys}" 2> /dev/null; then PY=$p; break; fi
	done
	[ -n "$PY" ] || { echo "1..0 # SKIP python3 ${1:-} is not installed"; exit 0; }
}

start_receiver() {
	name=$1 file=$2
	shift 2
	rm -f "$TRASH/$file"
	"$@" 2> "$TRASH/$name.err" &
	echo $! > "$TRASH/$name.pid"
	i=0
	while [ ! -f "$TRASH/$file" ]; do
		i=$((i + 1)); [ $i -lt $((100 * TIME_FACTOR)) ] || return 1; sleep 0.1
	done
}

stop_receivers() {
	for f in "$TRASH"/*.pid; do
		[ -f "$f" ] && [ "$f" != "$TRASH/daemon.pid" ] || continue
		kill "$(cat "$f")" 2> /dev/null
		rm -f "$f"
	done
	return 0
}

notify_cleanup() {
	stop_receivers
	api_cleanup
}
trap 'notify_cleanup' EXIT
trap 'exit 1' INT TERM
