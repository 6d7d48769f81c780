"""PyInstaller entry for the desktop application."""
import multiprocessing

multiprocessing.freeze_support()  # the export's worker processes re-run this executable (see entry_cli.py)

from medeid_gui.app import main  # noqa: E402 - after freeze_support, as PyInstaller requires

raise SystemExit(main())
