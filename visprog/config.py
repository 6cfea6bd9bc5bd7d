"""Settings for tools: model ids and options from a TOML file, the environment and arguments.

Settings are flat ``section.name`` keys (``"model.loc"``, ``"loc.threshold"``); every key is
declared once, with its type and range, by the tool that reads it (:mod:`visprog.options`), and
:func:`validate_settings` checks them all before anything loads.

Precedence, lowest first (a later source overrides an earlier one, key by key):

1. the tool's built-in default;
2. the config file: ``--config FILE`` / ``config=`` if given, else ``$VISPROG_CONFIG``, else
   ``$XDG_CONFIG_HOME/visprog/config.toml`` (``~/.config/visprog/config.toml``) when it exists;
3. environment variables ``VISPROG_<SECTION>_<NAME>``: the first underscore after the prefix
   becomes the dot, so ``VISPROG_MODEL_LOC`` sets ``model.loc`` and ``VISPROG_FACEDET_MIN_SCORE``
   sets ``facedet.min_score`` (see :func:`from_env` for variables that are not settings);
4. arguments: ``--set KEY=VALUE`` on the command line, ``settings={...}`` in the Python API.

A TOML file uses one table per section::

    [model]
    loc = "google/owlv2-base-patch16-ensemble"
    seg = "/models/sam2.1_hiera_large.pt"

    [loc]
    threshold = 0.2

Values given as text (environment, ``--set``) are read as TOML literals when they parse as one
(``0.2``, ``true``, ``[1, 2]``) and kept as text otherwise (``google/owlv2-base-patch16``).
"""

from __future__ import annotations

import difflib
import os
import re
import stat
import sys
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

from visprog.errors import ConfigurationError

ENV_PREFIX = "VISPROG_"
CONFIG_ENV = "VISPROG_CONFIG"
_KEY_RE = re.compile(r"^[a-z][a-z0-9]*\.[a-z][a-z0-9_]*$")


def parse_value(text: str) -> Any:
    """A value given as text: a TOML literal when it is one (numbers, booleans, lists), else text."""
    toml = _toml()
    try:
        return toml.loads(f"v = {text}")["v"]
    except (toml.TOMLDecodeError, ValueError):
        return text


def check_key(key: str, where: str) -> str:
    """Validate a ``section.name`` key; return it.

    Raises:
        ConfigurationError: For a key of another shape, naming where it came from.
    """
    if not _KEY_RE.match(key):
        raise ConfigurationError(
            f"{where}: setting {key!r} is not of the form section.name (lower case), "
            "like model.loc or loc.threshold"
        )
    return key


def validate_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Check settings against the declared options (the tools' and the engine's).

    See :func:`visprog.options.validate`; import the tools first so their options are declared.

    Raises:
        ConfigurationError: For an unknown key (with a "did you mean") or a bad value.
    """
    from visprog.options import validate

    return validate(settings)


def read_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Flat settings from a TOML file (one table per section).

    Raises:
        ConfigurationError: When the file cannot be read or is not valid TOML of that shape.
    """
    toml = _toml()
    if Path(path) == Path(os.devnull):  # the usual way to say "no config file"
        return {}
    try:
        data = toml.loads(read_bounded(path, MAX_CONFIG_BYTES).decode("utf-8"))
    except (OSError, ValueError) as e:
        if isinstance(e, toml.TOMLDecodeError):
            raise ConfigurationError(f"{path}: not valid TOML: {e}") from None
        reason = getattr(e, "strerror", None) or e
        raise ConfigurationError(f"cannot read the config file {path}: {reason}") from None
    except RecursionError:
        raise ConfigurationError(f"{path}: not valid TOML: nested too deeply") from None
    out: dict[str, Any] = {}
    for section, table in data.items():
        if not isinstance(table, dict):
            raise ConfigurationError(
                f"{path}: {section!r} must be a table like [{section}] with keys under it"
            )
        for name, value in table.items():
            out[check_key(f"{section}.{name}", str(path))] = value
    return out


MAX_CONFIG_BYTES = 1_000_000
"""Largest config file read."""


def read_bounded(path: str | os.PathLike[str], limit: int, *, follow_links: bool = True) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes.

    Refuses FIFOs, devices and folders before opening them (reading one could block or never
    end), and reads at most ``limit + 1`` bytes whatever the file claims its size is. With
    ``follow_links=False`` a symbolic link is refused as well.

    Raises:
        OSError: The file cannot be read, is not a regular file, or is larger than ``limit``.
        ValueError: The path is not a valid file name (a NUL byte in it).
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    if not follow_links:  # the last component may not be a symbolic link (ELOOP if it is)
        flags |= getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(0, "not a regular file")
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise OSError(0, f"larger than {limit:,} bytes")
    return data


ENV_NOT_SETTINGS = frozenset({CONFIG_ENV, "VISPROG_CACHE", "VISPROG_LLM"})
"""``VISPROG_*`` variables visprog reads that are not settings (a file, a folder, a backend)."""


def from_env(
    environ: Mapping[str, str] | None = None,
    known: Collection[str] | None = None,
    warn: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Settings from ``VISPROG_<SECTION>_<NAME>`` variables.

    With ``known`` (the declared keys) a variable is sorted three ways, so that a misspelt
    setting fails loudly while another program's ``VISPROG_*`` variable does not stop visprog:

    * it names a declared key (``VISPROG_LOC_THRESHOLD``): a setting;
    * it looks like a misspelt setting, i.e. its section is a declared one
      (``VISPROG_LOC_TRESHOLD``) or its key is close to a declared key (``VISPROG_MODLE_LOC``):
      a :class:`ConfigurationError` naming the variable, with a "did you mean";
    * anything else (``VISPROG_FOO_BAR``): ignored, with one line to ``warn`` saying so.

    Without ``known`` every well-formed variable is returned (and validated later).

    Raises:
        ConfigurationError: For a variable that looks like a misspelt setting.
    """
    environ = os.environ if environ is None else environ
    sections = {k.partition(".")[0] for k in known or ()}
    out: dict[str, Any] = {}
    for var, text in sorted(environ.items()):
        if not var.startswith(ENV_PREFIX) or var in ENV_NOT_SETTINGS:
            continue
        section, sep, name = var[len(ENV_PREFIX) :].lower().partition("_")
        key = f"{section}.{name}"
        if not sep or not _KEY_RE.match(key):
            continue
        if known is None or key in known:
            out[key] = parse_value(text)
        elif section in sections or difflib.get_close_matches(key, known, n=1, cutoff=0.8):
            raise _misspelt(var, key, known)
        elif warn is not None:
            warn(f"ignoring {var}: not a visprog setting (visprog tools lists them)")
    return out


def _misspelt(var: str, key: str, known: Collection[str]) -> ConfigurationError:
    close = difflib.get_close_matches(key, list(known), n=3, cutoff=0.6)
    names = [f"{env_name(k)} ({k})" for k in close]
    hint = f"; did you mean {' or '.join(names)}?" if names else ""
    return ConfigurationError(
        f"environment variable {var}: unknown setting {key!r}{hint} (visprog tools lists "
        "every setting; unset the variable if it is not meant for visprog)"
    )


def env_name(key: str) -> str:
    """The environment variable of a setting: ``loc.threshold`` -> ``VISPROG_LOC_THRESHOLD``."""
    return ENV_PREFIX + key.replace(".", "_").upper()


def parse_assignments(items: Iterable[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings (``--set``) as settings.

    Raises:
        ConfigurationError: For an item without ``=`` or with a malformed key.
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep:
            raise ConfigurationError(f"--set {item!r}: expected KEY=VALUE, like loc.threshold=0.2")
        out[check_key(key.strip(), "--set")] = parse_value(text.strip())
    return out


def default_config_path(environ: Mapping[str, str] | None = None) -> Path | None:
    """The config file used when none is given: ``$VISPROG_CONFIG`` or the user's, if present."""
    environ = os.environ if environ is None else environ
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV])
    base = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    path = Path(base) / "visprog" / "config.toml"
    return path if path.is_file() else None


def load_settings(
    config: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    warn: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Merge the config file, the environment and explicit settings (in that order).

    Args:
        config: A TOML file; when None, ``$VISPROG_CONFIG`` or the user's config file if any.
        overrides: Settings given as arguments (they win over everything else).
        environ: The environment (``os.environ`` when None).
        warn: Receives a line for each ignored ``VISPROG_*`` variable (stderr when None).

    Returns:
        Flat ``section.name`` settings.

    Raises:
        ConfigurationError: For an unreadable file, a malformed key, or an environment variable
            that looks like a misspelt setting (see :func:`from_env`).
    """
    import visprog.tools  # noqa: F401 - declares the tools' settings, which sort the variables
    from visprog.options import OPTIONS

    path = Path(config) if config is not None else default_config_path(environ)
    settings = read_file(path) if path is not None else {}
    if settings:
        # Checked here too, while it is known where they came from: a typo in a config file
        # should name the file, not leave the user to search three places for it.
        try:
            validate_settings(settings)
        except ConfigurationError as e:
            raise ConfigurationError(f"{path}: {e}") from None
    settings.update(from_env(environ, set(OPTIONS), warn or _stderr))
    for key, value in (overrides or {}).items():
        settings[check_key(key, "settings")] = value
    return settings


def _stderr(message: str) -> None:
    print(f"visprog: {message}", file=sys.stderr, flush=True)


def _toml() -> Any:
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib
    else:  # Python 3.10: the same parser, as a package
        try:
            import tomli
        except ImportError as e:  # pragma: no cover - depends on the interpreter
            raise ConfigurationError(
                "reading TOML on Python 3.10 needs the package 'tomli' (pip install tomli)"
            ) from e
        return tomli
