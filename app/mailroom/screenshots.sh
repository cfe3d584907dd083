#!/usr/bin/env bash
# Screenshots of the Mailroom client against a real mailroomd on loopback.
#
# It builds mailroomd, the GUI client and the seed tool, starts mailroomd
# with a temporary data directory, registers users and exchanges mail (seed
# uses the real client adapter; alice gets folders of her own), then runs the
# client under Xvfb at 400x800, 1280x800 and 1920x1080 (search and the folder
# drawer among them), drives it with xdotool and saves PNGs in
# docs/screenshots (or $OUT). Last it stops mailroomd and queues a message
# in the Outbox.
#
# On a busy machine set SLOW (default 1) to stretch every wait, e.g. SLOW=3;
# the client's window is awaited up to WINDOW_WAIT seconds (default 60).
#
# Needs: Xvfb, xdotool, ImageMagick (import), python3, and the Gio build
# packages (see /work/shared/notes/gio.md):
#   apt-get install -y --no-install-recommends xvfb xauth xdotool imagemagick \
#     libgl1-mesa-dri libegl-mesa0 libwayland-dev libxkbcommon-x11-dev libx11-xcb-dev \
#     libxcursor-dev libxfixes-dev libvulkan-dev libegl-dev libgles-dev libx11-dev gcc pkg-config
set -euo pipefail

cd "$(dirname "$0")/../.."
OUT=${OUT:-docs/screenshots}
PASSWORD=horse-battery-staple
mkdir -p "$OUT"
WORK=$(mktemp -d)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

# pause N: sleep N seconds times SLOW.
pause() { sleep "$(python3 -c "print($1 * ${SLOW:-1})")"; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() {
	for _ in $(seq 100); do
		python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 0.2)" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "port $1 never opened" >&2; return 1
}

echo "building…"
go build -o "$WORK/mailroomd" ./app/mailroomd
go build -o "$WORK/seed" ./app/mailroom/seed
go build -tags gui -o "$WORK/mailroom" ./app/mailroom

SMTP=$(free_port)
INBOX=$(free_port)
"$WORK/mailroomd" cert --data "$WORK/server" >/dev/null
"$WORK/mailroomd" serve --data "$WORK/server" --smtp-addr "127.0.0.1:$SMTP" --inbox-addr "127.0.0.1:$INBOX" \
	>"$WORK/mailroomd.log" 2>&1 &
PIDS+=($!)
wait_port "$SMTP"
wait_port "$INBOX"
echo "seeding mailroomd on 127.0.0.1:$SMTP/$INBOX…"
FP=$("$WORK/seed" -host 127.0.0.1 -smtp "$SMTP" -inbox "$INBOX" -password "$PASSWORD" -settings "$WORK/client")
echo "server fingerprint $FP"

# A display of our own, unless told to use one.
if [ -z "${SCREENSHOT_DISPLAY:-}" ]; then
	n=57
	while [ -e "/tmp/.X11-unix/X$n" ]; do n=$((n + 1)); done
	Xvfb ":$n" -screen 0 1920x1200x24 -nolisten tcp >"$WORK/xvfb.log" 2>&1 &
	PIDS+=($!)
	export DISPLAY=":$n"
	for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$n" ] && break; sleep 0.1; done
else
	export DISPLAY=$SCREENSHOT_DISPLAY
fi

# start_client DATA SIZE TITLE [flags...]: runs the client and prints its window id.
start_client() {
	local data=$1 size=$2 title=$3
	shift 3
	"$WORK/mailroom" -data "$data" -size "$size" -title "$title" "$@" >"$WORK/$title.log" 2>&1 &
	CLIENT=$!
	PIDS+=($CLIENT)
	for _ in $(seq $((${WINDOW_WAIT:-60} * 10))); do
		WIN=$(xdotool search --name "^$title\$" 2>/dev/null | head -1 || true)
		[ -n "$WIN" ] && break
		sleep 0.1
	done
	[ -n "$WIN" ] || { echo "no window $title" >&2; cat "$WORK/$title.log" >&2; exit 1; }
	xdotool windowfocus "$WIN"
	pause 3 # first frame (software GL, font scan) and the fingerprint check
}
shot() { import -window "$WIN" "$OUT/$1.png"; echo "  $OUT/$1.png"; }
click() { xdotool mousemove --window "$WIN" "$1" "$2" click 1; }
stop_client() { kill "$CLIENT" 2>/dev/null || true; wait "$CLIENT" 2>/dev/null || true; }

# The file "chosen" in compose: under Xvfb there is no desktop portal for
# the real file chooser, so -pick answers it.
head -c 48000 /dev/urandom >"$WORK/lunch-menu.pdf"

for size in 400x800 1280x800; do
	w=${size%x*}
	mid=$((w / 2))
	echo "client at $size"
	rm -rf "$WORK/c$w" && cp -r "$WORK/client" "$WORK/c$w"
	start_client "$WORK/c$w" "$size" "mailroom-$w" -pick "$WORK/lunch-menu.pdf"
	# The username is remembered, so the password field has focus.
	xdotool type --delay 20 "$PASSWORD"
	xdotool key Return
	pause 3
	shot "inbox-$w"
	if [ "$w" = 1280 ]; then
		# The list sits between the folder column (200dp) and the reader,
		# under the search field and the folder's header.
		click 400 220 # the newest message: every script and emoji
		pause 2
		shot "reader-i18n-$w"
		click 400 315 # the second newest
	else
		click 200 227 # the second newest (below the bar, the header and one row)
	fi
	pause 2
	shot "reader-$w"
	xdotool key Escape
	pause 0.5
	xdotool key ctrl+n
	pause 0.5
	xdotool type --delay 20 "bob, nobody"
	click "$mid" 215 # Subject: leaving To looks the recipients up
	xdotool type --delay 20 "Lunch on Thursday?"
	click "$mid" 330 # Message
	xdotool type --delay 10 "Noodles at 12:30 sound good."
	# Attach: the first button under the message (the form is centred from 720dp).
	left=$(( w > 720 ? (w - 720) / 2 : 0 ))
	click $((left + 48)) 536
	pause 1.5
	shot "compose-$w"
	stop_client
done

echo "client at 1920x1080"
rm -rf "$WORK/c1920" && cp -r "$WORK/client" "$WORK/c1920"
start_client "$WORK/c1920" 1920x1080 mailroom-1920
shot "login-1920"
xdotool type --delay 20 "$PASSWORD"
xdotool key Return
pause 3
xdotool key ctrl+n
pause 1
xdotool type --delay 20 "bob, carol"
xdotool key Tab
xdotool type --delay 20 "Release notes"
xdotool key Tab
xdotool type --delay 10 "The forms keep their width on a wide screen now."
pause 1
shot "compose-1920"
stop_client

echo "search at 1280x800"
rm -rf "$WORK/search" && cp -r "$WORK/client" "$WORK/search"
start_client "$WORK/search" 1280x800 mailroom-search
xdotool type --delay 20 "$PASSWORD"
xdotool key Return
pause 3
xdotool key slash # focuses the search field
pause 0.5
xdotool type --delay 40 "migration"
pause 2 # the pause in typing, the search and its previews
shot "search-1280"
stop_client

echo "folders at 400x800"
rm -rf "$WORK/folders" && cp -r "$WORK/client" "$WORK/folders"
start_client "$WORK/folders" 400x800 mailroom-folders
xdotool type --delay 20 "$PASSWORD"
xdotool key Return
pause 3
click 28 28 # the app bar's Folders button opens the drawer
pause 1.5
shot "folders-400"
stop_client

echo "first run: trust on first use"
mkdir -p "$WORK/fresh"
printf '{"host":"127.0.0.1","smtp_port":%s,"inbox_port":%s}\n' "$SMTP" "$INBOX" >"$WORK/fresh/settings.json"
start_client "$WORK/fresh" 400x800 mailroom-trust
shot "setup-400"
xdotool key Return # Connect
pause 2
shot "trust-400"
stop_client

echo "pinned fingerprint no longer matches"
mkdir -p "$WORK/changed"
printf '{"host":"127.0.0.1","smtp_port":%s,"inbox_port":%s,"fingerprint":"%s","username":"alice"}\n' \
	"$SMTP" "$INBOX" "$(printf '00%.0s' $(seq 32))" >"$WORK/changed/settings.json"
start_client "$WORK/changed" 400x800 mailroom-changed
pause 1
shot "fingerprint-changed-400"
stop_client

echo "dark theme"
rm -rf "$WORK/dark" && cp -r "$WORK/client" "$WORK/dark"
start_client "$WORK/dark" 1280x800 mailroom-dark -dark
xdotool type --delay 20 "$PASSWORD"
xdotool key Return
pause 3
click 400 220
pause 2
shot "reader-dark-1280"
stop_client

echo "outbox: the server stops mid-session"
rm -rf "$WORK/out" && cp -r "$WORK/client" "$WORK/out"
start_client "$WORK/out" 400x800 mailroom-outbox
xdotool type --delay 20 "$PASSWORD"
xdotool key Return
pause 3
kill "${PIDS[0]}" 2>/dev/null || true # mailroomd
wait "${PIDS[0]}" 2>/dev/null || true
pause 3 # the watch notices and shows the banner
xdotool key ctrl+n
pause 1
xdotool type --delay 20 "bob"
xdotool key Tab
xdotool type --delay 20 "Notes from the train"
xdotool key Tab
xdotool type --delay 10 "No signal here; this goes out when the server is back."
xdotool key ctrl+Return
pause 2
shot "outbox-400"
stop_client

echo "done: $(ls "$OUT"/*.png | wc -l) screenshots in $OUT"
