#!/usr/bin/env bash
# macOS: build dist/medeid.app (PyInstaller BUNDLE in packaging/medeid.spec: icon, Info.plist from
# packaging/installer_text.py, minimum macOS 12), sign it, and pack dist/medeid-<version>.dmg.
#   bash packaging/macos/build_dmg.sh
# Signing (optional): CODESIGN_IDENTITY="Developer ID Application: ..." ; notarising (optional):
# NOTARY_PROFILE=<keychain profile made with `xcrun notarytool store-credentials`).  Without an
# identity the app is signed ad hoc (runs on the build machine; Gatekeeper blocks it elsewhere).
set -euo pipefail
cd "$(dirname "$0")/../.."
SMOKE=0 bash packaging/build.sh
bash packaging/smoke_test.sh dist/medeid
APP=dist/medeid.app
[ -d "$APP" ] || { echo "PyInstaller made no $APP" >&2; exit 1; }
cp -R dist/medeid/licences "$APP/Contents/Resources/licences"
VERSION=$(python3 -c "import medeid_gui; print(medeid_gui.__version__)")
plutil -lint "$APP/Contents/Info.plist"
ID=${CODESIGN_IDENTITY:--}
# hardened runtime (required for notarisation); a secure time stamp only with a real identity
TS=(); [ "$ID" != "-" ] && TS=(--timestamp)
codesign --force --deep --options runtime ${TS[@]+"${TS[@]}"} \
  --entitlements packaging/macos/entitlements.plist --sign "$ID" "$APP"
codesign --verify --deep --strict --verbose=2 "$APP"
"$APP/Contents/MacOS/medeid-gui" --smoke-test --startup-report
STAGE=$(mktemp -d)
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
DMG=dist/medeid-$VERSION.dmg
rm -f "$DMG"
hdiutil create -volname "medeid $VERSION" -srcfolder "$STAGE" -fs HFS+ -format UDZO -ov "$DMG"
rm -rf "$STAGE"
if [ "$ID" != "-" ]; then codesign --force --sign "$ID" --timestamp "$DMG"; fi
if [ -n "${NOTARY_PROFILE:-}" ]; then
  xcrun notarytool submit "$DMG" --keychain-profile "$NOTARY_PROFILE" --wait
  xcrun stapler staple "$DMG"
fi
ls -l "$DMG"
