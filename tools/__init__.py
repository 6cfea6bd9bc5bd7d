"""The built-in tools, one module per family. Importing this package registers them all.

Every module in this package is imported here (so a new tool family needs no registration
line). No module imports torch or any other heavy library at import time: models load inside
the tools, on first use.
"""

import importlib
import pkgutil

__all__: list[str] = []

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_module}")
    __all__.append(_module)
