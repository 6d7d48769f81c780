#!/usr/bin/env bash
# Regenerate the README screenshots of the main window under Xvfb (a real X window, not offscreen).
# Each shot waits inside the app until the demo image and its de-identified result are shown
# (medeid-gui --screenshot), then the PNG is shrunk to stay under 400 KB.
# Usage: bash docs/screenshots/make_screenshots.sh   (needs Xvfb and ImageMagick)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=docs/screenshots
export MEDEID_SETTINGS="$(mktemp -d)/medeid.ini"   # a clean window layout, not the user's
DISPLAY_NUM=${DISPLAY_NUM:-:99}
if ! xdpyinfo -display "$DISPLAY_NUM" >/dev/null 2>&1; then
  Xvfb "$DISPLAY_NUM" -screen 0 1680x1000x24 >/dev/null 2>&1 &
  XVFB=$!
  trap 'kill $XVFB' EXIT
  sleep 1
fi
shot() {  # name privacy overlay: the first demo chest radiograph (DX), the method's domain
  DISPLAY=$DISPLAY_NUM python3 -m medeid_gui.app --demo --screenshot "$OUT/$1.png" \
    --privacy "$2" --overlay "$3" --modality DX --size 1600x920
  convert "$OUT/$1.png" -resize 1280x -strip -dither None -colors 256 -define png:compression-level=9 "$OUT/$1.png"
}
shot main-demo 25 mask
shot privacy-000 0 none
shot privacy-050 50 none
shot privacy-100 100 none
shot identity-map 50 idmap
ls -l "$OUT"/*.png
DISPLAY=$DISPLAY_NUM python3 docs/screenshots/dialog_screenshots.py "$OUT"  # about, models, export-options
