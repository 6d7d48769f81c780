#!/usr/bin/env bash
# Build the one-folder bundle into dist/medeid and smoke-test it (packaging/smoke_test.sh: version
# facts, an export that runs OCR and the pixel model without network, GUI start-up <= 3 s).
# Needs the 'package' extra: pip install -e '.[package]'.  SMOKE=0 skips the smoke test.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build
# the commit and build time the bundle reports (medeid --version, About box)
python3 - <<'PY'
import datetime, json, subprocess
def git(*a):
    try:
        return subprocess.run(["git", *a], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""
stamp = {"commit": git("rev-parse", "--short=12", "HEAD") or "unknown",
         "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
         "built": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
json.dump(stamp, open("build/buildinfo.json", "w"))
print("build stamp:", stamp)
PY
start=$(date +%s)
python3 -m PyInstaller --noconfirm --clean --distpath dist --workpath build/pyinstaller packaging/medeid.spec
echo "pyinstaller: $(( $(date +%s) - start )) s"
B=dist/medeid
# Linux: one executable, two names (packaging/entry_main.py picks by the name it was started as)
if [ -x "$B/medeid" ] && [ ! -e "$B/medeid-gui" ]; then ln -s medeid "$B/medeid-gui"; fi
# debug symbols: strip the shared libraries that still carry a symbol table, except those that
# auditwheel repaired (*.libs/): patchelf's layout does not survive strip ("ELF load command
# address/offset not page-aligned" when numpy loads its OpenBLAS)
if [ "$(uname -s)" = Linux ] && command -v strip >/dev/null 2>&1 && [ "${MEDEID_STRIP:-1}" = 1 ]; then
  before=$(du -sm "$B" | cut -f1)
  find "$B/_internal" -type f \( -name '*.so' -o -name '*.so.*' \) ! -path '*.libs/*' -print0 |
    while IFS= read -r -d '' f; do
      # grep reads all of readelf's output: with `grep -q` readelf could die of SIGPIPE, which
      # pipefail made a "no symbol table", and a random few libraries stayed unstripped
      if readelf -S "$f" 2>/dev/null | grep '[.]symtab' >/dev/null; then strip --strip-unneeded "$f"; fi
    done
  echo "strip: $before MB -> $(du -sm "$B" | cut -f1) MB"
fi
# one copy of a library two wheels vendored (OpenCV's and numpy's Fortran runtime, Pillow's and
# OpenCV's libavif), and Qt's ICU data without what Qt never reads (packaging/README.md)
if [ "$(uname -s)" = Linux ] && [ "${MEDEID_SHRINK:-1}" = 1 ]; then
  python3 packaging/dedup_libs.py "$B"
  python3 packaging/icu_data.py "$B"
fi
python3 packaging/collect_licences.py build/pyinstaller/medeid "$B/licences"
python3 packaging/bundle_sizes.py "$B" --json build/bundle-sizes.json
du -sh "$B"
if [ "${SMOKE:-1}" = 1 ]; then
  bash packaging/smoke_test.sh "$B"
fi
