"""PyInstaller entry for the command line."""
from medeid_gui.cli import main

raise SystemExit(main())
