#!/usr/bin/env bash
# Build the one-folder bundle into dist/medeid and smoke-test it (CLI help, header-only export of
# the demo data, GUI start-up offscreen). Needs the 'package' extra: pip install -e '.[package]'.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m PyInstaller --noconfirm --clean --distpath dist --workpath build/pyinstaller packaging/medeid.spec
B=dist/medeid
"$B/medeid" --version
"$B/medeid" --help >/dev/null
tmp=$(mktemp -d)
"$B/medeid" export resources/demo/dicom "$tmp/out" --privacy 0.5 --burned-in off --key-file "$tmp/key" \
  --ledger "$tmp/ledger" --state-dir "$tmp/state" --workers 1
QT_QPA_PLATFORM=offscreen timeout 60 "$B/medeid-gui" --smoke-test
du -sh "$B"
