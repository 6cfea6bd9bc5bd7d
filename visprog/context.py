"""What a running step can reach besides its arguments: device, models, notes, run caches."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from visprog.models import ModelManager, default_manager, resolve_device

T = TypeVar("T")


@dataclass
class Context:
    """Handed to a tool that declares a parameter annotated ``Context``.

    Attributes:
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``.
        models: The model manager (models are loaded on first use and cached per process).
        env: The values defined so far (read-only view), e.g. for Eval.
        run_cache: A dict that lives for one run, shared by its steps (e.g. image embeddings).
        settings: Free-form options for tools (model ids, thresholds), from config and API.
        notes: Remarks the step adds to its trace record (method used, fallbacks taken).
        models_used: Descriptions of the models the step used, e.g. ``"MTCNN (cuda)"``.
        services: Other collaborators by name (e.g. the program-writing LLM for ``List``).
    """

    device: str = "auto"
    models: ModelManager = field(default_factory=default_manager)
    env: Mapping[str, Any] = field(default_factory=dict)
    run_cache: dict[str, Any] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    models_used: list[str] = field(default_factory=list)
    services: Mapping[str, Any] = field(default_factory=dict)

    def note(self, text: str) -> None:
        """Add a remark to this step's trace record."""
        self.notes.append(text)

    def used_model(self, description: str) -> None:
        """Record that this step used a model (shown in the trace)."""
        if description not in self.models_used:
            self.models_used.append(description)

    def load_model(
        self, kind: str, setting: str, default_id: str, loader: Callable[[str, str, Any], T]
    ) -> tuple[T, str]:
        """The model that ``setting`` names (else ``default_id``), loaded once per process.

        Args:
            kind: Cache-key prefix, so one id loaded by two kinds of loader stays apart.
            setting: The setting that chooses the model, e.g. ``"model.vqa"``.
            default_id: The model used when the setting is absent.
            loader: ``loader(model_id, device, dtype_setting)`` builds the model.

        Returns:
            The model and the device it is on; the step's trace records both.
        """
        model_id = str(self.settings.get(setting, default_id))
        device = resolve_device(self.device)
        dtype_setting = self.settings.get("models.dtype")
        model = self.models.get(
            f"{kind}:{model_id}", device, lambda d: loader(model_id, d, dtype_setting)
        )
        self.used_model(f"{model_id} on {device}")
        return model, device

    def for_step(self, env: Mapping[str, Any]) -> Context:
        """A fresh per-step context sharing this run's device, models, caches and settings."""
        return Context(
            self.device, self.models, env, self.run_cache, self.settings, [], [], self.services
        )
