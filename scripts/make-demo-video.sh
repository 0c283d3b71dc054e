#!/usr/bin/env sh
# Re-makes crates/sim/assets/demo.mp4, the small video the local simulator serves as every generated
# result: 2 s of ffmpeg's testsrc2 pattern, 320x180 at 24 fps, H.264 yuv420p, with the index
# at the front (+faststart) so players can start before the download ends. Kept tiny because
# the binary embeds it.
set -eu

cd "$(dirname "$0")/.."

if ! command -v ffmpeg >/dev/null 2>&1; then
    echo "ffmpeg not found; installing it with apt-get" >&2
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update
    $SUDO apt-get install -y --no-install-recommends ffmpeg
fi

mkdir -p assets
ffmpeg -hide_banner -loglevel error -y \
    -f lavfi -i "testsrc2=size=320x180:rate=24:duration=2" \
    -c:v libx264 -preset veryslow -crf 30 -pix_fmt yuv420p \
    -movflags +faststart -map_metadata -1 -fflags +bitexact -flags:v +bitexact \
    crates/sim/assets/demo.mp4

echo "crates/sim/assets/demo.mp4: $(wc -c < crates/sim/assets/demo.mp4) bytes"
