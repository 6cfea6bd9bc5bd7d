"""The built-in tools, one module per family. Importing this package registers them all.

No module here imports torch or any other heavy library at import time: models load inside the
tools, on first use.
"""

from visprog.tools import core, crop, edit, faces, tag

__all__ = ["core", "crop", "edit", "faces", "tag"]
