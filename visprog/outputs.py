"""Writing outputs safely: atomically, never over an input, never two outputs on one file.

Every file visprog writes (trace JSON and its images, the trace page, the result image) goes
through :func:`atomic_write`: a temporary file in the same folder, flushed, then renamed over the
target, so a crash or a full disk never leaves half a file, and an existing file is replaced only
by a complete one. :func:`check_distinct` refuses output paths that name an input or each other.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from visprog.errors import OutputError, UsageError


def atomic_write(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; missing parent folders are created.

    Raises:
        OutputError: The folder cannot be created or written, the target exists and is not a
            regular file (a folder, a device, a FIFO), or the write fails (a full disk); the
            target is left as it was.
    """
    target = Path(path)
    try:
        check_target(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name[:80]}.", suffix=".tmp")
    except (OSError, ValueError) as e:
        raise OutputError(f"cannot write {target}: {_reason(e)}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # what open() would have given
        os.replace(tmp, target)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"cannot write {target}: {_reason(e)}") from None
    return target


def check_target(target: Path) -> None:
    """Refuse a target that exists and is not a regular file.

    Renaming over ``/dev/full``, a FIFO or a folder would destroy it, or fail half-way.

    Raises:
        OutputError: Naming the target.
    """
    try:
        info = target.stat()
    except (OSError, ValueError):
        return  # missing (or unreachable): the write itself says why it fails
    if stat.S_ISDIR(info.st_mode):
        raise OutputError(f"cannot write {target}: it is a folder")
    if not stat.S_ISREG(info.st_mode):
        raise OutputError(f"cannot write {target}: it exists and is not a regular file")


def check_distinct(outputs: Iterable[tuple[str, str | None]], inputs: Iterable[str]) -> None:
    """Refuse outputs that would overwrite an input or another output.

    Paths are compared after resolving links and ``..``, and by device and inode when both
    exist (a hard link is the same file under another name).

    Args:
        outputs: (option name, path or None) for each output, e.g. ``("--json", "t.json")``.
        inputs: Paths that are read (images, the program file, the trace being viewed).

    Raises:
        UsageError: Naming the two options or the input concerned.
    """
    seen: list[tuple[str, str]] = [("input", p) for p in inputs]
    for option, path in outputs:
        if path is None:
            continue
        for other, earlier in seen:
            if _same_file(path, earlier):
                what = f"the input {earlier}" if other == "input" else f"{other} {earlier}"
                raise UsageError(f"{option} {path} would overwrite {what}; choose another path")
        seen.append((option, path))


def _same_file(a: str, b: str) -> bool:
    try:
        if Path(a).resolve() == Path(b).resolve():
            return True
        return os.path.exists(a) and os.path.exists(b) and os.path.samefile(a, b)
    except (OSError, ValueError, RuntimeError):
        return False


def _reason(error: BaseException) -> str:
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


def _umask() -> int:
    # Read without changing it for long: os.umask has no getter.
    mask = os.umask(0)
    os.umask(mask)
    return mask
