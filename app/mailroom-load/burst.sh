#!/usr/bin/env bash
# burst.sh: issue 9's "RSS back within 20% of its baseline within a minute
# after a burst of 200 logins". Starts a fresh mailroomd on free loopback
# ports with a temporary --data and --auth-cache-ttl 0 (so that every login
# hashes its password), then runs `mailroom-load --burst`: baseline RSS, the
# logins, the RSS every 5 s for a minute.
#
#   LOGINS=200       logins in the burst
#   DAEMON_SRC=.     tree to build mailroomd from (before/after pairs)
#   DAEMON_BIN=      a mailroomd binary to use instead of building one
#   DAEMON_ARGS=     extra mailroomd flags (e.g. --memory-limit 64MiB)
#   FORMAT=text      mailroom-load --format
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
LOGINS=${LOGINS:-200}
DAEMON_SRC=${DAEMON_SRC:-$root}
DAEMON_BIN=${DAEMON_BIN:-}
DAEMON_ARGS=${DAEMON_ARGS:-}
FORMAT=${FORMAT:-text}

work=$(mktemp -d)
pid=
cleanup() {
	if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

if [ -z "$DAEMON_BIN" ]; then
	(cd "$DAEMON_SRC" && go build -o "$work/mailroomd" ./app/mailroomd)
	DAEMON_BIN=$work/mailroomd
fi
(cd "$root" && go build -o "$work/mailroom-load" ./app/mailroom-load)
ports=(--inbox-addr 127.0.0.1:0)
if "$DAEMON_BIN" --help 2>&1 | grep -q -- --imap-addr; then ports+=(--imap-addr 127.0.0.1:0); fi

# shellcheck disable=SC2086
"$DAEMON_BIN" serve --data "$work/data" --smtp-addr 127.0.0.1:0 "${ports[@]}" \
	--log-format json --auth-cache-ttl 0 $DAEMON_ARGS >"$work/log" 2>&1 &
pid=$!
addr=
for _ in $(seq 200); do
	addr=$(sed -n 's/.*"msg":"listening","adapter":"smtp","addr":"\([^"]*\)".*/\1/p' "$work/log")
	[ -n "$addr" ] && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
if [ -z "$addr" ]; then
	echo "mailroomd did not start:" >&2
	cat "$work/log" >&2
	exit 1
fi
echo "mailroomd $DAEMON_ARGS, $(nproc) CPUs, load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
"$work/mailroom-load" --addr "$addr" --server-pid "$pid" --burst "$LOGINS" --format "$FORMAT"
kill -TERM "$pid"
wait "$pid" || true
pid=
