"""What the settings read of the process's environment beside their own variables:
where the user's cache is. With ``workers.settings``, the only code that reads it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _writable(path: Path) -> bool:
    """Whether ``path`` is, or could be created as, a directory this process writes to."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate.is_dir() and os.access(candidate, os.W_OK | os.X_OK)
    return False


def default_data_dir() -> Path:
    """Where a worker keeps Faust's data directory unless ``ENRICH_DATA_DIR`` says.

    The per-user cache (``$XDG_CACHE_HOME`` or ``~/.cache``) when writable, else
    the temporary directory: never the current directory, which may be read-only
    (a hardened container) or somebody's project.
    """
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    preferred = Path(cache) / "article-enrich"
    if Path(cache).is_absolute() and _writable(preferred):
        return preferred
    return Path(tempfile.gettempdir()) / f"article-enrich-{os.getuid()}"
