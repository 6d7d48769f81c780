"""PyInstaller entry of the single Linux executable: `medeid`, and `medeid-gui` as a link to it.

Why one executable: each PyInstaller executable embeds its own archive of the Python modules
(about 45 MB here, the same modules for both); on Linux the name the program was started by
chooses the command line or the desktop application, and the bundle carries the archive once.
Windows (console vs windowed subsystem) and macOS (.app) keep two executables.
"""
import multiprocessing
import os
import sys

multiprocessing.freeze_support()  # the export's worker processes re-run this executable

if os.path.basename(sys.argv[0]).startswith("medeid-gui"):
    from medeid_gui.app import main
else:
    from medeid_gui.cli import main

raise SystemExit(main())
