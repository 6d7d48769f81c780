"""Where the desktop application writes its log.

Why its own module: the app's composition root sets logging up there and the main window's
"Open Log Folder" opens it; the window importing ``app`` (which imports the window) was a loop.
"""

from __future__ import annotations

import os
from pathlib import Path


def log_dir() -> Path:
    """``$MEDEID_LOG_DIR`` (tests, sites) or the platform's per-user log folder for medeid."""
    import platformdirs

    return Path(os.environ.get("MEDEID_LOG_DIR") or platformdirs.user_log_dir("medeid"))
