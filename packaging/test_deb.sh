#!/usr/bin/env bash
# Install, use and remove the .deb on this machine (root needed; a script, not a pytest test):
#   sudo bash packaging/test_deb.sh [dist/medeid_<version>_<arch>.deb]
# Checks: dpkg -i installs; /usr/bin/medeid --version and the smoke test (export with OCR and the
# model, GUI start-up) pass from the installed location as root and as a non-root user; the desktop
# entry validates; dpkg -r removes every file it installed and leaves nothing under /opt/medeid;
# files a user made (site models, keys) survive the removal.
set -euo pipefail
cd "$(dirname "$0")/.."
DEB=${1:-$(ls -t dist/medeid_*.deb | head -1)}
[ "$(id -u)" = 0 ] || { echo "run as root (dpkg -i)" >&2; exit 1; }
if dpkg -s medeid >/dev/null 2>&1; then echo "medeid is already installed; remove it first" >&2; exit 1; fi
USER_NAME=medeid-tester
MADE_USER=0
if ! id "$USER_NAME" >/dev/null 2>&1; then useradd -m "$USER_NAME"; MADE_USER=1; fi
cleanup() {
  dpkg --purge medeid >/dev/null 2>&1 || true  # also drops dpkg's record of the postrm
  if [ "$MADE_USER" = 1 ]; then userdel -r "$USER_NAME" 2>/dev/null || true; fi
}
trap cleanup EXIT
echo "== dpkg -i $DEB"
dpkg -i "$DEB"
dpkg -L medeid > /tmp/medeid-deb-files.txt
echo "$(wc -l < /tmp/medeid-deb-files.txt) paths installed"
echo "== root: /usr/bin/medeid --version"
/usr/bin/medeid --version | head -3
desktop-file-validate /usr/share/applications/org.medeid.medeid.desktop
echo "desktop entry valid"
# the smoke test runs /opt/medeid through the /usr/bin launchers' target folder
bash packaging/smoke_test.sh /opt/medeid
echo "== as $USER_NAME (not root)"
HOME_T=$(getent passwd "$USER_NAME" | cut -d: -f6)
cp packaging/smoke_test.sh "$HOME_T/" && cp -r resources/demo/dicom "$HOME_T/demo"
chown -R "$USER_NAME" "$HOME_T"
su "$USER_NAME" -s /bin/bash -c "cd ~ && /usr/bin/medeid --version | head -1 && \
  QT_QPA_PLATFORM=offscreen /usr/bin/medeid-gui --smoke-test --startup-report && \
  MEDEID_DEMO=\$HOME/demo bash ./smoke_test.sh /opt/medeid --no-gui"
# something a user made must survive the removal
mkdir -p "$HOME_T/.local/share/medeid/models/site-model" && echo keep > "$HOME_T/.local/share/medeid/models/site-model/note"
echo "== dpkg -r medeid"
dpkg -r medeid
left=0
while read -r p; do
  if [ -e "$p" ] && ! [ -d "$p" ]; then echo "left behind: $p"; left=1; fi
  case "$p" in /opt/medeid*) [ -e "$p" ] && { echo "left behind: $p"; left=1; } ;; esac
done < /tmp/medeid-deb-files.txt
[ ! -e /opt/medeid ] || { echo "/opt/medeid still exists"; left=1; }
[ -f "$HOME_T/.local/share/medeid/models/site-model/note" ] || { echo "user data was removed"; left=1; }
[ "$left" = 0 ] || { echo "DEB TEST FAILED" >&2; exit 1; }
dpkg --purge medeid >/dev/null
echo "deb test passed: installed, ran as root and as $USER_NAME, removed without leftovers"
