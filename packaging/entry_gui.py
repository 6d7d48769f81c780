"""PyInstaller entry for the desktop application."""
from medeid_gui.app import main

raise SystemExit(main())
