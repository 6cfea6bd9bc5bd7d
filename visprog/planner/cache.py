"""The program cache: a repeated query costs no language-model call.

One JSON file per key under ``$VISPROG_CACHE/programs`` (``~/.cache/visprog/programs``). The key
hashes the query, the task, the input names, the model and the prompt version (which changes when
a prompt file or a tool's signature changes), so a stale program is never reused.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any


def default_dir() -> Path:
    """``$VISPROG_CACHE/programs`` or ``~/.cache/visprog/programs``."""
    root = os.environ.get("VISPROG_CACHE") or Path.home() / ".cache" / "visprog"
    return Path(root) / "programs"


def cache_key(query: str, task: str, inputs: tuple[str, ...], model: str, version: str) -> str:
    """The hex key of one generation request (the query's spacing and case ignored)."""
    norm = " ".join(query.lower().split())
    text = json.dumps([norm, task, list(inputs), model, version])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class ProgramCache:
    """Programs on disk by :func:`cache_key`.

    Args:
        folder: Where the files go (default: :func:`default_dir`).
    """

    def __init__(self, folder: Path | str | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_dir()

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored entry (``program`` and ``attempts``), or None (also for an unreadable file)."""
        try:
            data = json.loads((self.folder / f"{key}.json").read_text("utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and isinstance(data.get("program"), str) else None

    def put(self, key: str, entry: dict[str, Any]) -> None:
        """Store an entry atomically; a cache that cannot be written is skipped silently."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self.folder / f".{key}.{os.getpid()}.tmp"
            tmp.write_text(json.dumps(entry, indent=1), "utf-8")
            tmp.replace(self.folder / f"{key}.json")
        except OSError:
            pass  # caching is an optimisation: a read-only home must not break generation
