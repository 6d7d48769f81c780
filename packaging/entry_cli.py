"""PyInstaller entry for the command line."""
import multiprocessing

# export workers are spawn/forkserver processes: in a frozen app they re-run this executable, and
# freeze_support() turns such a run into the worker instead of a second `medeid` command line
multiprocessing.freeze_support()

from medeid_gui.cli import main  # noqa: E402 - after freeze_support, see above

raise SystemExit(main())
