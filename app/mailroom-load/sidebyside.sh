#!/usr/bin/env bash
# sidebyside.sh MAILPIT_BINARY: issue 10's goal cells, Mailroom and Mailpit
# driven by the same mailroom-load, interleaved (Mailroom, Mailpit,
# Mailroom, ...) so that other work on the machine weighs on both alike,
# ROUNDS times per cell; then the medians side by side with the ratio.
#
# Mailpit is not built or downloaded here: pass the path of a binary built
# from its public source (`go build` in a checkout of axllent/mailpit).
# It runs as issue 10 describes it: implicit TLS (--smtp-require-tls) with
# Mailroom's generated certificate, AUTH accepting any password, a SQLite
# file on disk (its own default: WAL, synchronous=NORMAL), no message limit
# (--max 0, so that it keeps every message as Mailroom does) and no reverse
# DNS lookups. Every run starts both servers on empty databases.
#
#   DUR=10s      length of each run
#   ROUNDS=3     runs per server per cell (the median is reported)
#   CELLS=all    or a space-separated subset of: 10k8 10k32 1k8 10k10r conn 1m8
#   TEXT=filler  message bodies: filler (one line repeated), words (nothing
#                but distinct texts of varied words) or mail (headers, then
#                the words as text/plain and HTML); a full-text index costs
#                least with filler and most with words
#   DAEMON_SRC=. tree to build mailroomd from (a `git worktree` for "before")
#   DAEMON_ARGS= extra mailroomd flags
#   PGURL=       run Mailroom on PostgreSQL: a postgres:// URL whose
#                database this script drops and creates again before each
#                Mailroom run (psql must be installed; never a database you
#                keep anything in)
#   OUT=         also keep the raw JSON lines in this file
set -euo pipefail
mailpit=${1:?usage: sidebyside.sh PATH_TO_MAILPIT_BINARY}
mailpit=$(cd "$(dirname "$mailpit")" && pwd)/$(basename "$mailpit")
root=$(cd "$(dirname "$0")/../.." && pwd)
DUR=${DUR:-10s}
ROUNDS=${ROUNDS:-3}
CELLS=${CELLS:-10k8 10k32 1k8 10k10r conn 1m8}
DAEMON_SRC=${DAEMON_SRC:-$root}
DAEMON_ARGS=${DAEMON_ARGS:-}
TEXT=${TEXT:-filler}

work=$(mktemp -d)
pid=
cleanup() {
	if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
trap "exit 130" INT TERM

(cd "$DAEMON_SRC" && go build -o "$work/mailroomd" ./app/mailroomd)
(cd "$root" && go build -o "$work/mailroom-load" ./app/mailroom-load)
# Every listener on a free port; an older mailroomd (DAEMON_SRC) may have
# no IMAP server.
ports=(--inbox-addr 127.0.0.1:0)
if "$work/mailroomd" --help 2>&1 | grep -q -- --imap-addr; then ports+=(--imap-addr 127.0.0.1:0); fi
load="$work/mailroom-load"

# Mailroom's self-signed pair, made once, serves Mailpit too.
"$work/mailroomd" cert --data "$work/certs" >/dev/null 2>&1

wait_port() {
	for _ in $(seq 300); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "$2 did not start:" >&2
	cat "$work/log" >&2
	exit 1
}

# start_mailroom and start_mailpit set pid, addr and the load flags.
# fresh_pg drops and creates PGURL's database, through the server's
# "postgres" database.
fresh_pg() {
	local base=${PGURL%%\?*} db
	db=${base##*/}
	PGOPTIONS=--client-min-messages=warning psql -q -d "${base%/*}/postgres" -c "DROP DATABASE IF EXISTS \"$db\"" -c "CREATE DATABASE \"$db\"" >/dev/null
}

start_mailroom() {
	rm -rf "$work/data"
	local port db=()
	port=$("$load" --free-port)
	if [ -n "${PGURL:-}" ]; then
		fresh_pg
		db=(--db "$PGURL")
	fi
	# shellcheck disable=SC2086
	"$work/mailroomd" serve --data "$work/data" --smtp-addr "127.0.0.1:$port" "${ports[@]}" "${db[@]}" \
		--log-level warn $DAEMON_ARGS >"$work/log" 2>&1 &
	pid=$!
	addr=127.0.0.1:$port
	wait_port "$port" mailroomd
	flags=(--register=true)
}

start_mailpit() {
	rm -rf "$work/mailpit.db"*
	local port ui
	port=$("$load" --free-port)
	ui=$("$load" --free-port)
	"$mailpit" --smtp "127.0.0.1:$port" --listen "127.0.0.1:$ui" --database "$work/mailpit.db" \
		--smtp-tls-cert "$work/certs/cert.pem" --smtp-tls-key "$work/certs/key.pem" --smtp-require-tls \
		--smtp-auth-accept-any --max 0 --smtp-disable-rdns --disable-version-check --quiet >"$work/log" 2>&1 &
	pid=$!
	addr=127.0.0.1:$port
	wait_port "$port" mailpit
	flags=(--register=false)
}

stop_server() {
	kill -TERM "$pid"
	wait "$pid" || true
	pid=
}

cell_args() {
	case $1 in
	10k8) echo --conns 8 --size 10KB ;;
	10k32) echo --conns 32 --size 10KB ;;
	1k8) echo --conns 8 --size 1KB ;;
	10k10r) echo --conns 8 --size 10KB --rcpts 10 ;;
	conn) echo --conns 8 --size 10KB --per-message-conn ;;
	1m8) echo --conns 8 --size 1MB ;;
	*) echo "unknown cell $1" >&2 && exit 2 ;;
	esac
}

results=${OUT:-$work/results.jsonl}
: >"$results"
rev=$(git -C "$DAEMON_SRC" rev-parse --short HEAD 2>/dev/null || echo "an unknown commit")
if ! git -C "$DAEMON_SRC" diff --quiet HEAD -- 2>/dev/null; then rev="$rev with uncommitted changes"; fi
echo "mailroomd from $rev${PGURL:+ on PostgreSQL}; Mailpit: $mailpit; $(go version | cut -d' ' -f3), $(nproc) CPUs"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg); $DUR per run, $ROUNDS rounds, interleaved, $TEXT bodies"
for c in $CELLS; do
	# shellcheck disable=SC2046
	set -- $(cell_args "$c")
	for _ in $(seq "$ROUNDS"); do
		for server in mailroom mailpit; do
			"start_$server"
			"$load" --addr "$addr" --server-pid "$pid" --duration "$DUR" --label "$server" --format jsonl \
				--text "$TEXT" "${flags[@]}" "$@" >>"$results" || echo "$server run failed: $*" >&2
			stop_server
		done
	done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
"$load" --compare "$results"
