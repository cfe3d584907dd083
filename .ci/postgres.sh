#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests (docs: /work/shared/notes/postgres.md).
#
#   eval "$(.ci/postgres.sh start)"   # installs Debian's postgresql if missing, starts a cluster,
#                                     # prints export lines for MAILROOM_TEST_POSTGRES (the URL of
#                                     # an empty database "mailroom") and MAILROOM_TEST_POSTGRES_DIR
#   .ci/postgres.sh restart "$MAILROOM_TEST_POSTGRES_DIR"   # pg_ctl restart, same port
#   .ci/postgres.sh stop "$MAILROOM_TEST_POSTGRES_DIR"      # stops it and removes the directory
#
# The cluster listens on a free port on 127.0.0.1 only, and trusts the
# postgres user: it is for one CI run on one machine, never for data. initdb
# refuses to run as root, so everything runs as the postgres user. Only the
# export lines go to stdout; everything else goes to stderr.
set -euo pipefail

as_postgres() { su postgres -s /bin/bash -c "$1" >&2; }

pgbin() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$bin" ]; then
    echo "postgresql is not installed" >&2
    return 1
  fi
  echo "$bin"
}

start() {
  if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
  fi
  local bin dir port
  bin=$(pgbin)
  dir=$(mktemp -d /tmp/mailroom-pg.XXXXXX)
  chown postgres "$dir"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  as_postgres "$bin/initdb -D $dir/data -A trust -U postgres -E UTF8 >/dev/null"
  # The postgres superuser gets in without a password; every other role must
  # give its password (SCRAM), so that tests can check what a wrong password
  # does.
  cat >"$dir/data/pg_hba.conf" <<'HBA'
local all all               trust
host  all postgres 127.0.0.1/32 trust
host  all all      127.0.0.1/32 scram-sha-256
HBA
  echo "$port" >"$dir/port"
  as_postgres "$bin/pg_ctl -D $dir/data -l $dir/log -w -o \"-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200\" start"
  as_postgres "$bin/createdb -h 127.0.0.1 -p $port -U postgres mailroom"
  echo "export MAILROOM_TEST_POSTGRES='postgres://postgres@127.0.0.1:$port/mailroom?sslmode=disable'"
  echo "export MAILROOM_TEST_POSTGRES_DIR='$dir'"
}

need_dir() {
  if [ -z "${1:-}" ] || [ ! -d "$1/data" ]; then
    echo "usage: $0 stop|restart DIR (the MAILROOM_TEST_POSTGRES_DIR that start printed)" >&2
    exit 2
  fi
}

case "${1:-}" in
  start) start ;;
  restart)
    need_dir "${2:-}"
    as_postgres "$(pgbin)/pg_ctl -D $2/data -l $2/log -w -m fast restart"
    ;;
  stop)
    need_dir "${2:-}"
    as_postgres "$(pgbin)/pg_ctl -D $2/data -w -m fast stop" || true
    rm -rf "$2"
    ;;
  *)
    echo "usage: $0 start | restart DIR | stop DIR" >&2
    exit 2
    ;;
esac
