# Build medeid on Windows: PyInstaller bundle (dist\medeid), its smoke test, then the Inno Setup
# installer (dist\medeid-<version>-setup.exe).  Run from the repository root in PowerShell:
#   powershell -ExecutionPolicy Bypass -File packaging\windows\build.ps1
# Needs: Python 3.11 with `pip install -e .[package]` (CPU torch: packaging\install_torch.sh's index),
# Inno Setup 6 (iscc.exe on PATH or in its default folder).
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..\..")
New-Item -ItemType Directory -Force build | Out-Null
$commit = (git rev-parse --short=12 HEAD).Trim()
$dirty = [bool](git status --porcelain --untracked-files=no)
$built = (Get-Date).ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ssZ")
@{commit = $commit; dirty = $dirty; built = $built} | ConvertTo-Json | Set-Content -Encoding utf8 build\buildinfo.json
python -m PyInstaller --noconfirm --clean --distpath dist --workpath build\pyinstaller packaging\medeid.spec
if ($LASTEXITCODE -ne 0) { throw "PyInstaller failed" }
python packaging\collect_licences.py build\pyinstaller\medeid dist\medeid\licences
python packaging\bundle_sizes.py dist\medeid
# smoke test: the version facts, then an export that runs OCR and the pixel model
$v = & dist\medeid\medeid.exe --version
$v
if (-not ($v -match "\(shipped, verified\)")) { throw "shipped model not found or not verified" }
$tmp = Join-Path $env:TEMP ("medeid-smoke-" + [guid]::NewGuid())
& dist\medeid\medeid.exe export resources\demo\dicom "$tmp\out" --privacy 0.5 --burned-in all `
  --key-file "$tmp\key" --ledger "$tmp\ledger" --state-dir "$tmp\state" --workers 1
if ($LASTEXITCODE -ne 0) { throw "export failed" }
$env:QT_QPA_PLATFORM = "offscreen"
& dist\medeid\medeid-gui.exe --smoke-test --startup-report | Write-Output
if ($LASTEXITCODE -ne 0) { throw "GUI smoke test failed" }
Remove-Item Env:\QT_QPA_PLATFORM
$version = python -c "import medeid_gui; print(medeid_gui.__version__)"
$iscc = (Get-Command iscc.exe -ErrorAction SilentlyContinue).Source
if (-not $iscc) { $iscc = "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe" }
& $iscc "/DAppVersion=$version" packaging\windows\medeid.iss
if ($LASTEXITCODE -ne 0) { throw "Inno Setup failed" }
Get-ChildItem dist\medeid-*-setup.exe
