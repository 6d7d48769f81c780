#!/usr/bin/env bash
# Smoke test of a built or installed medeid: smoke_test.sh DIR_WITH_medeid_AND_medeid-gui [--no-gui]
# Proves, from a folder outside the source tree, with a fresh HOME, no PYTHONPATH and (when
# `unshare -n` is allowed) no network at all:
#  1. `medeid --version` reports the bundle, verified models found inside it, OCR models, no problem;
#  2. an export of the demo studies at privacy 0.5 with burned-in text detection succeeds and marks
#     every file 113101 (pixels cleaned: OCR ran) and 113102 (visual features: the model ran);
#  3. `medeid-gui --smoke-test` shows its window; the median of 3 start-ups is <= MEDEID_MAX_START_S
#     (default 3 s), measured by the app from process start to the first paint.
set -euo pipefail
BIN=$(cd "$1" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEMO=${MEDEID_DEMO:-$ROOT/resources/demo/dicom}
[ -d "$DEMO" ] || { echo "no demo studies at $DEMO: set MEDEID_DEMO" >&2; exit 2; }
MAX_START=${MEDEID_MAX_START_S:-3}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cp -r "$DEMO" "$WORK/in"
chmod -R a+rX "$WORK"
mkdir -p "$WORK/home" "$WORK/nomodels"
NET=()
if unshare -n true 2>/dev/null; then NET=(unshare -n); echo "network: none (unshare -n)"; else echo "network: present (unshare -n not permitted here)"; fi
run() {  # a clean environment: only what a desktop session has
  (cd "$WORK" && env -i PATH=/usr/bin:/bin:/usr/sbin:/sbin HOME="$WORK/home" LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen \
     MEDEID_USER_MODELS="$WORK/nomodels" OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" ${NET[@]+"${NET[@]}"} "$@")
}
TIMEOUT=(); command -v timeout >/dev/null 2>&1 && TIMEOUT=(timeout 120)  # macOS has no timeout(1)
fail() { echo "SMOKE TEST FAILED: $*" >&2; exit 1; }

run "$BIN/medeid" --help >/dev/null
# site training is in the bundle (packaging/lab_modules.py; packaging/train_check.py trains with it)
run "$BIN/medeid" ml train --help >/dev/null || fail "medeid ml train is missing from the bundle"
V=$(run "$BIN/medeid" --version)
echo "$V"
grep -q '^medeid .* (bundle)$' <<<"$V" || fail "--version does not report a bundle"
grep -q '(shipped, verified)' <<<"$V" || fail "shipped model not found or not verified"
MODELS=$(sed -n 's/^  folder //p' <<<"$V" | head -1)
REAL_BIN=$(readlink -f "$BIN")
case "$(readlink -f "$MODELS")" in "$REAL_BIN"/*) ;; *) fail "models read from $MODELS, not from the bundle";; esac
grep -q '^ocr rapidocr .*\.onnx' <<<"$V" || fail "OCR models missing"
! grep -q '^problem' <<<"$V" || fail "problems reported"

run "$BIN/medeid" export in out --privacy 0.5 --burned-in all --key-file key --ledger ledger \
  --state-dir state --workers 1 --manifest manifest.csv >/dev/null
N_IN=$(find "$WORK/in" -type f | wc -l)
N_OUT=$(grep -c ',exported,' "$WORK/manifest.csv" || true)
[ "$N_OUT" -eq "$N_IN" ] || fail "exported $N_OUT of $N_IN demo files"
# the code values are plain ASCII in each file's De-identification Method Code Sequence
for f in $(find "$WORK/out" -name '*.dcm'); do
  grep -qa '113101' "$f" && grep -qa '113102' "$f" || fail "$f lacks 113101/113102: OCR or model did not run"
done
echo "export: $N_OUT/$N_IN files, each marked 113101 (text cleaned) and 113102 (model applied)"
# worker processes: a frozen app must turn its re-runs into workers (multiprocessing.freeze_support)
run "$BIN/medeid" export in out2 --burned-in off --key-file key --ledger ledger2 --state-dir state2 \
  --workers 2 --manifest manifest2.csv >/dev/null
[ "$(grep -c ',exported,' "$WORK/manifest2.csv" || true)" -eq "$N_IN" ] || fail "export with 2 worker processes"
echo "export with 2 worker processes: ok"

if [ "${2:-}" != "--no-gui" ]; then
  times=()
  for i in 1 2 3; do
    line=$(run ${TIMEOUT[@]+"${TIMEOUT[@]}"} "$BIN/medeid-gui" --smoke-test --startup-report | grep '^startup_to_shown_s=') \
      || fail "medeid-gui --smoke-test did not show its window"
    echo "start $i: $line"
    times+=("$(sed 's/^startup_to_shown_s=\([0-9.]*\).*/\1/' <<<"$line")")
  done
  MED=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
  echo "gui start-up median ${MED} s (limit ${MAX_START} s)"
  awk -v m="$MED" -v l="$MAX_START" 'BEGIN{exit !(m <= l)}' || fail "start-up ${MED} s > ${MAX_START} s"
fi
echo "smoke test passed: $BIN"
