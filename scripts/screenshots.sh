#!/usr/bin/env bash
# Re-makes the PNG pictures of the full-screen app in screenshots/: the real release binary runs
# in tmux against the local simulator, keys go in with send-keys, and each screen is captured
# with its colours (capture-pane -e), turned into HTML and photographed by headless Chromium.
# Nothing leaves loopback.
#
#   main.png       a busy queue: jobs running and finished, in several modes, a picture of the
#                  selected finished one in the details pane
#   compare.png    three finished jobs marked with Space and compared with =
#   help.png       the key help (`?`), first of its pages
#   multishot.png  the multi-shot editor with three shots
#   failed.png     a failed job selected, its error in the details pane
#   batchplan.png  a batch file opened with `b`: its requests priced, before it is sent
#   batch.png      the batch under its header, three requests held by max_spend_per_day
#   sequence.png   the Sequence view: three shots, two takes each, one chosen per shot, kept
#                  and rejected takes, the chosen take's picture, length and cost so far
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD

COLS=160
ROWS=45
# Pixel size of one cell at the font size below; the window is made to fit the grid exactly.
FONT_PX=15
CELL_W=9
CELL_H=18
PAD=12

need=()
command -v tmux >/dev/null 2>&1 || need+=(tmux)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# Box-drawing and symbol glyphs of the same width as the letters.
fc-list 2>/dev/null | grep -q DejaVuSansMono || need+=(fonts-dejavu-core)
if [ "${#need[@]}" -gt 0 ]; then
    echo "installing ${need[*]} with apt-get" >&2
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update
    $SUDO apt-get install -y --no-install-recommends "${need[@]}"
fi

cargo build --release
BIN=$ROOT/target/release/kling-tui

WORK=$(mktemp -d)
SOCKET="kling-tui-shots-$$"
SIM_PID=""
cleanup() {
    tmux -L "$SOCKET" kill-server >/dev/null 2>&1 || true
    rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$SOCKET"
    if [ -n "$SIM_PID" ]; then kill "$SIM_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

t() { tmux -L "$SOCKET" -f /dev/null "$@"; }

# Waits until at least COUNT lines of the screen match the extended regex PATTERN (default 1);
# gives up after 30 s so a stuck app fails the script.
wait_for() {
    local pattern=$1 count=${2:-1}
    for _ in $(seq 300); do
        if [ "$(t capture-pane -p -t shot | grep -cE -- "$pattern")" -ge "$count" ]; then
            return 0
        fi
        sleep 0.1
    done
    echo "gave up waiting for '$pattern' x$count; the screen was:" >&2
    t capture-pane -p -t shot >&2
    exit 1
}

# Starts a fresh session running a command (after NAME, which names its home folder) with a clean
# home, no credentials unless the command sets them, and downloads going to a temp folder.
start_app() {
    local home=$WORK/home-$1
    shift
    mkdir -p "$home" "$WORK/videos"
    t kill-server >/dev/null 2>&1 || true
    t new-session -d -s shot -x "$COLS" -y "$ROWS" -c "$WORK/videos" \
        env -u SCENARIO_API_KEY -u SCENARIO_API_SECRET -u SCENARIO_SDK_API_KEY \
        -u SCENARIO_SDK_API_SECRET -u SCENARIO_API_URL -u SCENARIO_PROJECT_ID -u NO_COLOR \
        HOME="$home" XDG_CONFIG_HOME="$home/config" XDG_DATA_HOME="$home/data" \
        TERM=xterm-256color COLORTERM=truecolor "$@"
    t set-option -t shot status off
    wait_for "Ctrl\+R/F5 submit"
}

# Types a prompt into the (focused) editor, replacing what was there.
prompt() {
    t send-keys -t shot C-a C-k
    t send-keys -t shot -l "$1"
}

# The ANSI-to-HTML step. aha 0.5.1 mangles reverse video combined with 256-colour codes
# (the queue's selected row comes out as `color:#?` and loses its highlight halfway), so this
# small converter keeps every cell's colours, bold, dim, underline and reverse as tmux reports.
cat >"$WORK/ansi2html.py" <<'EOF'
import html, re, sys

FG, BG = "#d8dee9", "#101216"
# A dark palette for the 16 basic colours (black..white, then the bright ones).
BASE = ["#1c1f26", "#e5534b", "#57ab5a", "#c69026", "#539bf5", "#b083f0", "#39c5cf", "#c5ccd6",
        "#636e7b", "#ff7b72", "#7ee787", "#e3b341", "#79c0ff", "#d2a8ff", "#56d4dd", "#f0f3f6"]

def color256(n):
    if n < 16:
        return BASE[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return "#%02x%02x%02x" % (steps[n // 36], steps[n // 6 % 6], steps[n % 6])
    v = 8 + 10 * (n - 232)
    return "#%02x%02x%02x" % (v, v, v)

def mix(a, b):
    pa, pb = [int(a[i:i + 2], 16) for i in (1, 3, 5)], [int(b[i:i + 2], 16) for i in (1, 3, 5)]
    return "#%02x%02x%02x" % tuple((x + y) // 2 for x, y in zip(pa, pb))

state = {}

def sgr(params):
    codes = [int(p) if p else 0 for p in params.split(";")] if params else [0]
    i = 0
    while i < len(codes):
        c = codes[i]
        if c == 0:
            state.clear()
        elif c in (1, 2, 3, 4, 7):
            state[{1: "bold", 2: "dim", 3: "italic", 4: "underline", 7: "reverse"}[c]] = True
        elif c == 22:
            state.pop("bold", None); state.pop("dim", None)
        elif c in (23, 24, 27):
            state.pop({23: "italic", 24: "underline", 27: "reverse"}[c], None)
        elif 30 <= c <= 37 or 90 <= c <= 97:
            state["fg"] = BASE[c - 30 if c < 90 else c - 82]
        elif 40 <= c <= 47 or 100 <= c <= 107:
            state["bg"] = BASE[c - 40 if c < 100 else c - 92]
        elif c == 39:
            state.pop("fg", None)
        elif c == 49:
            state.pop("bg", None)
        elif c in (38, 48) and i + 1 < len(codes):
            key = "fg" if c == 38 else "bg"
            if codes[i + 1] == 5 and i + 2 < len(codes):
                state[key] = color256(codes[i + 2]); i += 2
            elif codes[i + 1] == 2 and i + 4 < len(codes):
                state[key] = "#%02x%02x%02x" % tuple(codes[i + 2:i + 5]); i += 4
        i += 1

def style():
    fg, bg = state.get("fg", FG), state.get("bg", BG)
    if state.get("reverse"):
        fg, bg = bg, fg
    if state.get("dim"):
        fg = mix(fg, bg)
    css = ["color:" + fg]
    if bg != BG:
        css.append("background:" + bg)
    if state.get("bold"):
        css.append("font-weight:bold")
    if state.get("italic"):
        css.append("font-style:italic")
    if state.get("underline"):
        css.append("text-decoration:underline")
    return ";".join(css)

out = []
for line in sys.stdin.read().rstrip("\n").split("\n"):
    for part in re.split(r"(\x1b\[[0-9;]*[A-Za-z])", line):
        if part.startswith("\x1b["):
            if part.endswith("m"):
                sgr(part[2:-1])
        elif part:
            out.append('<span style="%s">%s</span>' % (style(), html.escape(part)))
    out.append("\n")
sys.stdout.write("".join(out))
EOF

# Photographs the screen as screenshots/NAME.png.
capture() {
    local name=$1 ans=$WORK/$1.ans html=$WORK/$1.html
    t capture-pane -e -p -t shot >"$ans"
    local width=$((COLS * CELL_W + 2 * PAD)) height=$((ROWS * CELL_H + 2 * PAD))
    {
        cat <<EOF
<!DOCTYPE html>
<html><head><meta charset="utf-8"><style>
html, body { margin: 0; background: #101216; }
pre {
  margin: 0; padding: ${PAD}px; color: #d8dee9; background: #101216;
  font-family: "DejaVu Sans Mono", monospace; font-size: ${FONT_PX}px;
  line-height: ${CELL_H}px; white-space: pre;
}
</style></head><body><pre>
EOF
        python3 "$WORK/ansi2html.py" <"$ans"
        echo "</pre></body></html>"
    } >"$html"
    chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --hide-scrollbars --user-data-dir="$(mktemp -d -p "$WORK")" \
        --screenshot="$ROOT/screenshots/$name.png" --window-size="$width,$height" \
        "file://$html" >/dev/null 2>&1
    echo "screenshots/$name.png"
}

mkdir -p screenshots

# --- main.png, help.png, multishot.png: the in-process demo simulator ---------------------
start_app demo "$BIN" --demo

# Each job: a prompt, and a step of the Mode field (the first one in the sidebar) when asked.
submit() {
    local step=$1 text=$2
    if [ -n "$step" ]; then
        t send-keys -t shot Tab "$step" BTab
    fi
    prompt "$text"
    t send-keys -t shot C-r
    # Staggered, so the capture finds the jobs at different stages.
    sleep 0.8
}
submit "" "A red fox trotting through fresh snow at dawn, low tracking shot"
submit Left "Aerial view of a lighthouse on a cliff, waves crashing, golden hour"
submit "" "A paper boat drifting down a rain-soaked city gutter, macro lens"
submit Right "Time-lapse of a night market opening, lanterns lighting one by one"
submit Right "Close-up of a hummingbird drinking from a red flower, slow motion"
submit Left "An astronaut planting a tomato seedling inside a glass dome on Mars"
submit Left "A vintage tram climbing a steep street in Lisbon, handheld camera"
submit Right "Ink drops blooming in water, swirling blue and gold, studio light"
# A prompt being written, and the queue's selection on the third job (finished when captured).
prompt "A snow leopard stalking across a ridge at dusk, long lens, shallow focus"
t send-keys -t shot Tab Tab
for _ in 1 2 3 4 5; do t send-keys -t shot j; done
# Three finished and on disk, the rest still running, and the prompt's cost estimated.
wait_for "✓ saved" 3
wait_for "Cost: [0-9]"
wait_for "p: large"
capture main

# Three finished takes side by side: the selected one and the two below it, marked, then =.
wait_for "✓ saved" 5
t send-keys -t shot Space Space Space =
wait_for "Compare 3 jobs"
wait_for "time taken"
sleep 1
capture compare
t send-keys -t shot Space

t send-keys -t shot '?'
wait_for "other keys close"
capture help
t send-keys -t shot Escape

# The multi-shot editor: a 12 s video cut into three shots of 5, 3 and 4 s.
t send-keys -t shot BTab
t send-keys -t shot k k k k k k k k k k k j j l l l l l l l
for _ in 1 2 3 4 5 6 7 8; do t send-keys -t shot j; done
t send-keys -t shot Enter
wait_for "shots? of 6"
t send-keys -t shot Enter
t send-keys -t shot -l "Wide shot: a cyclist crests a hill at sunrise"
t send-keys -t shot Enter Left Left Left Left Left Left Left
t send-keys -t shot a
t send-keys -t shot -l "Close-up: the rider's breath in the cold air"
t send-keys -t shot Enter Left Left Left Left
t send-keys -t shot a
t send-keys -t shot -l "Drone pull-back over the valley at sunrise"
t send-keys -t shot Enter
wait_for "3\.  4 s  Drone pull-back"
wait_for "Cost: [0-9]"
capture multishot
t kill-server

# --- batchplan.png, batch.png: a batch file in the app, against a daily cap ---------------
mkdir -p "$WORK/home-batch/config/kling-tui"
printf 'max_spend_per_day = 500\n' >"$WORK/home-batch/config/kling-tui/config.toml"
chmod 600 "$WORK/home-batch/config/kling-tui/config.toml"
cat >"$WORK/videos/opening.jsonl" <<'JSONL'
# The opening: the establishing shot in three styles at two lengths, then the keeper in both modes.
{"prompt": "A lighthouse on a cliff at dusk, waves below, {watercolour|film noir|anime} style", "duration": [5, 10], "mode": "standard"}
{"prompt": "The keeper climbs the spiral stairs, handheld, {lantern light|moonlight}", "mode": ["standard", "pro"], "aspectRatio": "9:16"}
JSONL
start_app batch "$BIN" --demo
t send-keys -t shot Tab Tab b
wait_for "Batch file"
t send-keys -t shot -l "open"
t send-keys -t shot Tab
wait_for "opening.jsonl"
t send-keys -t shot Enter
wait_for "total  10 requests  700 CU"
capture batchplan
t send-keys -t shot Enter
# Seven fit under the day's 500 CU; the last three wait, held, in order.
wait_for "held: spend" 3
wait_for "✓ saved" 7
wait_for "today 500 of 500 CU"
# The selection on the first held request: its cap in the details pane.
for _ in 1 2 3 4 5 6 7 8; do t send-keys -t shot j; done
wait_for "sent by itself"
capture batch
t kill-server

# --- failed.png: a simulator whose every job fails ----------------------------------------
# The Sequence view: six takes made and saved from the command line against a simulator that
# keeps its ledger, marked and placed in a sequence there, then looked at in the app.
"$BIN" sim --failure-rate 0 --time-scale 120 --addr 127.0.0.1:0 >"$WORK/seq-sim.out" 2>&1 &
SEQ_SIM_PID=$!
SEQ_URL=""
for _ in $(seq 100); do
    SEQ_URL=$(sed -n 's/^ *API URL *//p' "$WORK/seq-sim.out")
    [ -n "$SEQ_URL" ] && break
    sleep 0.1
done
[ -n "$SEQ_URL" ] || { cat "$WORK/seq-sim.out" >&2; exit 1; }
seq_cli() {
    env -u NO_COLOR HOME="$WORK/home-sequence" XDG_CONFIG_HOME="$WORK/home-sequence/config" \
        XDG_DATA_HOME="$WORK/home-sequence/data" SCENARIO_API_URL="$SEQ_URL" \
        SCENARIO_API_KEY=demo_key SCENARIO_API_SECRET=demo_secret "$BIN" "$@" </dev/null
}
seq_cli seq new harbour >/dev/null
for text in "Dawn over a fishing harbour, a boat slips its mooring" \
    "Dawn over a fishing harbour, gulls lift as a boat slips its mooring" \
    "The boat clears the breakwater into open water" \
    "The boat clears the breakwater, spray over the bow" \
    "Far out, the boat is a speck under a rising sun" \
    "Far out, the boat turns towards the sun"; do
    seq_cli submit --mode standard --download "$WORK/videos" --prompt "$text" >/dev/null 2>&1
done
seq_cli mark 1 keep >/dev/null
seq_cli mark 2 reject --reason "off prompt" >/dev/null
seq_cli mark 3 reject --reason motion >/dev/null
seq_cli mark 4 keep >/dev/null
seq_cli mark 5 keep >/dev/null
seq_cli mark 6 reject --reason "face drift" >/dev/null
seq_cli seq add harbour 1 >/dev/null
seq_cli seq take harbour 1 2 >/dev/null
seq_cli seq add harbour 4 >/dev/null
seq_cli seq take harbour 2 3 >/dev/null
seq_cli seq add harbour 5 >/dev/null
seq_cli seq take harbour 3 6 >/dev/null
start_app sequence env SCENARIO_API_URL="$SEQ_URL" SCENARIO_API_KEY=demo_key \
    SCENARIO_API_SECRET=demo_secret "$BIN"
t send-keys -t shot Tab Tab Q
wait_for "3 shots · 3 chosen"
t send-keys -t shot l
sleep 0.3
t send-keys -t shot j j
sleep 1.5
capture sequence
t kill-server
seq_cli engine stop >/dev/null
kill "$SEQ_SIM_PID" 2>/dev/null || true

"$BIN" sim --failure-rate 1 --time-scale 24 --addr 127.0.0.1:0 >"$WORK/sim.out" 2>&1 &
SIM_PID=$!
API_URL=""
for _ in $(seq 100); do
    API_URL=$(sed -n 's/^ *API URL *//p' "$WORK/sim.out")
    [ -n "$API_URL" ] && break
    sleep 0.1
done
[ -n "$API_URL" ] || { cat "$WORK/sim.out" >&2; exit 1; }
start_app failed env SCENARIO_API_URL="$API_URL" SCENARIO_API_KEY=demo_key \
    SCENARIO_API_SECRET=demo_secret "$BIN"
prompt "A glass of water tipping over in zero gravity, droplets floating"
t send-keys -t shot C-r
sleep 0.8
prompt "A koi pond seen from above, leaves drifting across the surface"
t send-keys -t shot C-r
t send-keys -t shot Tab Tab
# Both failed, the newest (first row) selected, its error in the details pane.
wait_for "✗ failure" 2
wait_for "error: "
capture failed
t kill-server
# The app started a background engine for that simulator: it goes with the pictures.
env HOME="$WORK/home-failed" XDG_CONFIG_HOME="$WORK/home-failed/config" \
    XDG_DATA_HOME="$WORK/home-failed/data" SCENARIO_API_URL="$API_URL" \
    "$BIN" engine stop >/dev/null
