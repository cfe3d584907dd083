#!/usr/bin/env bash
# bench.sh: issue 10's load matrix. Builds mailroomd and mailroom-load,
# then for each cell starts a fresh mailroomd on free loopback ports with a
# temporary --data (so every cell starts from an empty database and its own
# peak RSS), runs mailroom-load against it and prints one Markdown row.
#
#   DUR=5s           length of each cell
#   DAEMON_SRC=.     tree to build mailroomd from (e.g. a `git worktree` of
#                    an older commit, for a before/after pair)
#   DAEMON_ARGS=     extra mailroomd flags for every cell
#   IDLE=0           also open this many idle logged-in connections (issue 9)
#   SLOWLORIS=0      also run this many trickling connections (issue 9),
#                    against --smtp-read-timeout 10s
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
DUR=${DUR:-5s}
DAEMON_SRC=${DAEMON_SRC:-$root}
DAEMON_ARGS=${DAEMON_ARGS:-}
IDLE=${IDLE:-0}
SLOWLORIS=${SLOWLORIS:-0}

work=$(mktemp -d)
pid=
cleanup() {
	if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

(cd "$DAEMON_SRC" && go build -o "$work/mailroomd" ./app/mailroomd)
(cd "$root" && go build -o "$work/mailroom-load" ./app/mailroom-load)
# Every listener on a free port; an older mailroomd (DAEMON_SRC) may have
# no IMAP server.
ports=(--inbox-addr 127.0.0.1:0)
if "$work/mailroomd" --help 2>&1 | grep -q -- --imap-addr; then ports+=(--imap-addr 127.0.0.1:0); fi

# start_daemon starts mailroomd with its flags plus "$@" and sets pid and
# addr (the SMTP address it logged).
start_daemon() {
	rm -rf "$work/data"
	# shellcheck disable=SC2086
	"$work/mailroomd" serve --data "$work/data" --smtp-addr 127.0.0.1:0 "${ports[@]}" \
		--log-format json $DAEMON_ARGS "$@" >"$work/log" 2>&1 &
	pid=$!
	addr=
	for _ in $(seq 200); do
		addr=$(sed -n 's/.*"msg":"listening","adapter":"smtp","addr":"\([^"]*\)".*/\1/p' "$work/log")
		[ -n "$addr" ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "mailroomd did not start:" >&2
	cat "$work/log" >&2
	exit 1
}

stop_daemon() {
	kill -TERM "$pid"
	wait "$pid" || echo "mailroomd exited $? (log: $(tail -n 2 "$work/log"))" >&2
	pid=
}

# cell runs mailroom-load with "$@" against a fresh daemon.
cell() {
	start_daemon
	"$work/mailroom-load" --addr "$addr" --server-pid "$pid" --duration "$DUR" --format md "$@" ||
		echo "| cell failed: $* |"
	stop_daemon
}

rev=$(git -C "$DAEMON_SRC" rev-parse --short HEAD 2>/dev/null || echo "an unknown commit")
if git -C "$DAEMON_SRC" rev-parse 2>/dev/null && ! git -C "$DAEMON_SRC" diff --quiet HEAD -- 2>/dev/null; then
	rev="$rev with uncommitted changes"
fi
echo "mailroomd from $rev, $(go version | cut -d' ' -f3), $(nproc) CPUs, load average at start: $(cut -d' ' -f1-3 /proc/loadavg), $DUR per cell"
echo
"$work/mailroom-load" --md-header
for conns in 1 8 32; do
	for size in 1KB 10KB 1MB; do
		for rcpts in 1 10; do
			cell --conns "$conns" --size "$size" --rcpts "$rcpts"
		done
	done
done
cell --conns 8 --size 10KB --rcpts 1 --per-message-conn
cell --conns 8 --size 1KB --rcpts 1 --per-message-conn
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"

if [ "$IDLE" -gt 0 ]; then
	echo
	start_daemon --max-conns "$((IDLE + 10))" --max-conns-per-ip "$((IDLE + 10))"
	"$work/mailroom-load" --addr "$addr" --server-pid "$pid" --idle "$IDLE" --duration 10s
	stop_daemon
fi
if [ "$SLOWLORIS" -gt 0 ]; then
	echo
	start_daemon --max-conns "$((SLOWLORIS + 10))" --max-conns-per-ip "$((SLOWLORIS + 10))" --smtp-read-timeout 10s
	"$work/mailroom-load" --addr "$addr" --server-pid "$pid" --slowloris "$SLOWLORIS" --duration 40s
	stop_daemon
fi
