"""The project key, loaded (or created) once per process, on behalf of every GUI thread.

Why: the header panel (describe, a worker thread) and an export (another worker thread, then
``run_export``'s own ``ProjectKey.load_or_create``) may both find no key on first use. Creating
it twice at once can let one thread read the file while the other is still writing it; this
lock makes sure the key file exists, complete, before anyone else reads it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from medeid_gui.deid.keys import ProjectKey

_lock = threading.Lock()
_cache: dict[str, ProjectKey] = {}


def project_key(path: str | None = None) -> ProjectKey:
    """``deid.keys.ProjectKey.load_or_create(path)``, serialised and cached per path."""
    from medeid_gui.deid.keys import ProjectKey, default_key_path

    k = str(path or default_key_path())
    with _lock:
        key = _cache.get(k)
        if key is None:
            key = ProjectKey.load_or_create(path)
            _cache[k] = key
        return key
