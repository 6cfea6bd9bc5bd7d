"""Settings for tools: model ids and options from a TOML file, the environment and arguments.

Settings are flat ``section.name`` keys (``"model.loc"``, ``"loc.threshold"``); tools read them
with ``ctx.settings.get("model.loc", DEFAULT_ID)``, so a key nobody sets keeps the tool's default.

Precedence, lowest first (a later source overrides an earlier one, key by key):

1. the tool's built-in default;
2. the config file: ``--config FILE`` / ``config=`` if given, else ``$VISPROG_CONFIG``, else
   ``$XDG_CONFIG_HOME/visprog/config.toml`` (``~/.config/visprog/config.toml``) when it exists;
3. environment variables ``VISPROG_<SECTION>_<NAME>``: the first underscore after the prefix
   becomes the dot, so ``VISPROG_MODEL_LOC`` sets ``model.loc`` and ``VISPROG_FACEDET_MIN_SCORE``
   sets ``facedet.min_score``;
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

import os
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from visprog.errors import ConfigurationError

ENV_PREFIX = "VISPROG_"
CONFIG_ENV = "VISPROG_CONFIG"
_KEY_RE = re.compile(r"^[a-z][a-z0-9]*\.[a-z][a-z0-9_]*$")

KNOWN_KEYS: dict[str, str] = {
    "model.loc": "Loc's detector: a Hugging Face id, a local folder, or a YOLO .pt/.yaml",
    "model.seg": "Seg's SAM 2 checkpoint: a Hugging Face id, a .pt file or a folder",
    "model.point": "Point's Molmo 2 model: a Hugging Face id or a local folder",
    "model.vqa": "VQA's image-text-to-text model",
    "model.clip": "Select/Classify's CLIP model",
    "model.replace": "Replace's inpainting pipeline",
    "loc.backend": "auto (from the model id), owlv2, grounding_dino, yolo, yoloe, yolo_world",
    "loc.threshold": "Loc's minimum score (0..1)",
    "loc.nms": "Loc's IoU above which overlapping boxes are merged (0..1; 1 disables NMS)",
    "loc.max_objects": "Loc keeps at most this many objects",
    "seg.config": "SAM 2 config for a local checkpoint, e.g. sam2.1_hiera_l or a .yaml path",
    "seg.points_per_side": "Seg's automatic mask generator grid (no prompt)",
    "point.max_new_tokens": "Point's generation budget",
    "seg.max_objects": "Seg keeps at most this many automatic masks (the largest)",
    "seg.pred_iou_thresh": "Seg's automatic masks: minimum predicted IoU",
    "seg.stability_score_thresh": "Seg's automatic masks: minimum stability score",
    "point.prompt": "Point's instruction to Molmo, with {object}",
    "facedet.min_score": "FaceDet's minimum face probability (0..1)",
    "vqa.max_new_tokens": "VQA's answer length budget",
    "vqa.prompt": "VQA's instruction, with {question}",
    "clip.templates": "Select/Classify prompt templates, each with {} for the name",
    "classify.one_per_category": "Classify keeps only the best object per category (VisProg)",
    "classify.probe": "Classify's default probe file (visprog probe fit)",
    "classify.examples_weight": "Classify: share of example-image prototypes beside text (0..1)",
    "select.probe": "Select's default probe file: queries are its classes",
    "replace.seed": "Replace's random seed (same seed, same image)",
    "replace.steps": "Replace's diffusion steps",
    "replace.guidance": "Replace's classifier-free guidance scale",
    "replace.size": "Replace's working size in pixels",
    "emoji.scale": "Emoji size relative to the object's box",
    "llm.backend": "program writer: default, hf:ID_OR_PATH, a .gguf file, openai:MODEL[@URL]",
    "llm.mode": "OpenAI-compatible servers: chat or completion",
    "llm.grammar": "OpenAI-compatible servers: none, gbnf (llama.cpp) or lark (vLLM)",
    "llm.timeout": "OpenAI-compatible servers: seconds per request",
    "llm.retries": "OpenAI-compatible servers: retries on 429, 5xx and lost connections",
    "models.budget_gb": "memory budget for loaded models; least recently used ones are evicted",
    "models.dtype": "auto (bf16/fp16 on GPU, fp32 on CPU), float32, bfloat16, float16",
}
"""Keys the built-in tools read, with what they mean (listed by ``visprog tools``)."""


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


def number_setting(
    settings: Mapping[str, Any],
    key: str,
    default: float,
    low: float | None = None,
    high: float | None = None,
) -> float:
    """A numeric setting, checked: ``settings[key]`` or ``default``.

    Raises:
        ConfigurationError: When the value is not a number or lies outside ``[low, high]``.
    """
    value = settings.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigurationError(f"setting {key}: expected a number, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise ConfigurationError(f"setting {key}: expected a number, got {value!r}") from None
    if (low is not None and number < low) or (high is not None and number > high):
        raise ConfigurationError(
            f"setting {key}: expected a number in [{low}, {high}], got {value!r}"
        )
    return number


def read_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Flat settings from a TOML file (one table per section).

    Raises:
        ConfigurationError: When the file cannot be read or is not valid TOML of that shape.
    """
    toml = _toml()
    try:
        data = toml.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigurationError(f"cannot read the config file {path}: {e}") from None
    except toml.TOMLDecodeError as e:
        raise ConfigurationError(f"{path}: not valid TOML: {e}") from None
    out: dict[str, Any] = {}
    for section, table in data.items():
        if not isinstance(table, dict):
            raise ConfigurationError(
                f"{path}: {section!r} must be a table like [{section}] with keys under it"
            )
        for name, value in table.items():
            out[check_key(f"{section}.{name}", str(path))] = value
    return out


def from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Settings from ``VISPROG_<SECTION>_<NAME>`` variables (``VISPROG_CONFIG`` excluded)."""
    environ = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    for var, text in environ.items():
        if not var.startswith(ENV_PREFIX) or var == CONFIG_ENV:
            continue
        section, sep, name = var[len(ENV_PREFIX) :].lower().partition("_")
        if sep and _KEY_RE.match(f"{section}.{name}"):
            out[f"{section}.{name}"] = parse_value(text)
    return out


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
) -> dict[str, Any]:
    """Merge the config file, the environment and explicit settings (in that order).

    Args:
        config: A TOML file; when None, ``$VISPROG_CONFIG`` or the user's config file if any.
        overrides: Settings given as arguments (they win over everything else).
        environ: The environment (``os.environ`` when None).

    Returns:
        Flat ``section.name`` settings.

    Raises:
        ConfigurationError: For an unreadable file or a malformed key.
    """
    path = Path(config) if config is not None else default_config_path(environ)
    settings = read_file(path) if path is not None else {}
    settings.update(from_env(environ))
    for key, value in (overrides or {}).items():
        settings[check_key(key, "settings")] = value
    return settings


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
