#!/usr/bin/env bash
# Make dist/medeid_<version>_<arch>.deb from the bundle in dist/medeid (run `make package` first).
#   /opt/medeid/                      the PyInstaller bundle (medeid, medeid-gui, _internal/, licences/)
#   /usr/bin/medeid, medeid-gui       launchers
#   /usr/share/applications/org.medeid.medeid.desktop, /usr/share/icons/hicolor/*/apps/medeid.*
#   /usr/share/doc/medeid/copyright   medeid's licence and the list of bundled components
# DEB_COMPRESSION=xz|zstd|gzip (default xz, readable by every dpkg; gzip is much faster to build).
set -euo pipefail
cd "$(dirname "$0")/.."
B=dist/medeid
[ -x "$B/medeid" ] && [ -x "$B/medeid-gui" ] || { echo "no bundle in $B: run 'make package' first" >&2; exit 1; }
[ -f "$B/licences/README.txt" ] || { echo "$B/licences missing: build with packaging/build.sh" >&2; exit 1; }
VERSION=$(python3 -c "import re,pathlib; print(re.search(r'__version__ = \"([^\"]+)\"', pathlib.Path('medeid_gui/__init__.py').read_text()).group(1))")
ARCH=$(dpkg --print-architecture)
ROOT=build/deb/medeid_${VERSION}_${ARCH}
rm -rf "$ROOT"
mkdir -p "$ROOT/DEBIAN" "$ROOT/opt" "$ROOT/usr/bin" "$ROOT/usr/share/applications" "$ROOT/usr/share/doc/medeid"
cp -a "$B" "$ROOT/opt/medeid"
for name in medeid medeid-gui; do
  sed "s/@NAME@/$name/g" packaging/deb/launcher > "$ROOT/usr/bin/$name"
  chmod 0755 "$ROOT/usr/bin/$name"
done
python3 packaging/installer_text.py desktop --exec /usr/bin/medeid-gui > "$ROOT/usr/share/applications/org.medeid.medeid.desktop"
desktop-file-validate "$ROOT/usr/share/applications/org.medeid.medeid.desktop"
for size in 16 24 32 48 64 128 256 512; do
  install -D -m 0644 "resources/icons/medeid-$size.png" "$ROOT/usr/share/icons/hicolor/${size}x${size}/apps/medeid.png"
done
install -D -m 0644 resources/icons/medeid.svg "$ROOT/usr/share/icons/hicolor/scalable/apps/medeid.svg"
{
  echo "medeid $VERSION: Apache-2.0 (see /usr/share/common-licenses/Apache-2.0)."
  echo "Model weights: see /opt/medeid/_internal/models/manifest.json ('licence')."
  echo "The bundle under /opt/medeid contains these components; their licence texts are in"
  echo "/opt/medeid/licences/<component>/."
  echo
  cat "$B/licences/README.txt"
} > "$ROOT/usr/share/doc/medeid/copyright"
install -m 0755 packaging/deb/postrm "$ROOT/DEBIAN/postrm"
# permissions: readable by every user, writable by root only
chmod -R u+rwX,go+rX,go-w "$ROOT"
KB=$(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)
python3 packaging/installer_text.py control --version "$VERSION" --arch "$ARCH" --installed-kb "$KB" > "$ROOT/DEBIAN/control"
OUTDEB=dist/medeid_${VERSION}_${ARCH}.deb
dpkg-deb --root-owner-group -Z"${DEB_COMPRESSION:-xz}" --build "$ROOT" "$OUTDEB"
rm -rf "$ROOT"
ls -l "$OUTDEB"
echo "installed size: $((KB / 1024)) MiB"
