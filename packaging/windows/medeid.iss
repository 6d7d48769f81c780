; Inno Setup 6 script for medeid (Windows x64): installs the PyInstaller bundle dist\medeid.
; Build on Windows after `packaging\build.sh` (or the same PyInstaller command) has made dist\medeid:
;   iscc /DAppVersion=0.1.0 packaging\windows\medeid.iss      -> dist\medeid-0.1.0-setup.exe
; Per-user (no administrator) or per-machine: the installer asks (PrivilegesRequiredOverridesAllowed);
; /ALLUSERS or /CURRENTUSER on the command line choose silently.  See README.md beside this file.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#define AppName "medeid"
#define Bundle "..\..\dist\medeid"

[Setup]
; a fixed GUID: upgrades replace the same installation; never change it between releases
AppId={{6E7D3B9A-1C4F-4B0E-9A57-3F2D8C1E5A40}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=medeid maintainers
DefaultDirName={autopf}\medeid
DefaultGroupName=medeid
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog commandline
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir=..\..\dist
OutputBaseFilename=medeid-{#AppVersion}-setup
SetupIconFile=..\..\resources\icons\medeid.ico
UninstallDisplayIcon={app}\medeid-gui.exe
LicenseFile=..\..\dist\medeid\licences\README.txt
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ChangesEnvironment=yes

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "addtopath"; Description: "Add the medeid command line to PATH"; GroupDescription: "Command line:"; Flags: unchecked

[Files]
Source: "{#Bundle}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\medeid"; Filename: "{app}\medeid-gui.exe"; IconFilename: "{app}\medeid-gui.exe"
Name: "{group}\Uninstall medeid"; Filename: "{uninstallexe}"
Name: "{autodesktop}\medeid"; Filename: "{app}\medeid-gui.exe"; Tasks: desktopicon

[Registry]
; PATH entry for the console program, per user or per machine as installed
Root: HKCU; Subkey: "Environment"; ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; \
  Tasks: addtopath; Check: (not IsAdminInstallMode) and NeedsAddPath(ExpandConstant('{app}'))
Root: HKLM; Subkey: "SYSTEM\CurrentControlSet\Control\Session Manager\Environment"; ValueType: expandsz; \
  ValueName: "Path"; ValueData: "{olddata};{app}"; Tasks: addtopath; \
  Check: IsAdminInstallMode and NeedsAddPath(ExpandConstant('{app}'))

[Run]
Filename: "{app}\medeid.exe"; Parameters: "--version"; Flags: runhidden waituntilterminated; \
  StatusMsg: "Checking the installed models..."
Filename: "{app}\medeid-gui.exe"; Description: "{cm:LaunchProgram,medeid}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; only what the installer put there; user data (%LOCALAPPDATA%\medeid: site models, keys, ledgers) stays
Type: dirifempty; Name: "{app}"

[Code]
function PathKey(): String;
begin
  if IsAdminInstallMode then Result := 'SYSTEM\CurrentControlSet\Control\Session Manager\Environment'
  else Result := 'Environment';
end;

function PathRoot(): Integer;
begin
  if IsAdminInstallMode then Result := HKEY_LOCAL_MACHINE else Result := HKEY_CURRENT_USER;
end;

function NeedsAddPath(Dir: String): Boolean;
var
  Paths: String;
begin
  if not RegQueryStringValue(PathRoot(), PathKey(), 'Path', Paths) then
  begin
    Result := True;
    exit;
  end;
  Result := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Paths) + ';') = 0;
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
var
  Paths, Dir: String;
  P: Integer;
begin
  { remove exactly the PATH entry the installer added, nothing else }
  if CurUninstallStep <> usPostUninstall then exit;
  if not RegQueryStringValue(PathRoot(), PathKey(), 'Path', Paths) then exit;
  Dir := ExpandConstant('{app}');
  P := Pos(';' + Uppercase(Dir), Uppercase(Paths));
  if P > 0 then
  begin
    Delete(Paths, P, Length(Dir) + 1);
    RegWriteExpandStringValue(PathRoot(), PathKey(), 'Path', Paths);
  end;
end;
