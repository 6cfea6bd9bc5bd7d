"""What a running step can reach besides its arguments: device, models, notes, run caches."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from visprog.models import ModelManager, dtype_name, resolve_device

if TYPE_CHECKING:
    from visprog.options import ModelDecl, Option


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
    models: ModelManager = field(default_factory=ModelManager)
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

    def option(self, declared: Option, default: Any = None) -> Any:
        """The checked value of a declared setting (else ``default``, else its declared default).

        Raises:
            ConfigurationError: For a value of the wrong type or out of range.
        """
        return declared.read(self.settings, default)

    def load_model(
        self, decl: ModelDecl, label: str | None = None, record: bool = True
    ) -> tuple[Any, str]:
        """The model ``decl`` declares (or the one its setting names), loaded once per session.

        The cache key is (kind, model id, device, dtype): a session whose ``models.dtype``
        changes gets a new model.

        Args:
            decl: The tool's model declaration.
            label: How the trace names the model (default: its id).
            record: False when the tool records the model itself (once it knows its kind).

        Returns:
            The model and the device it is on; the step's trace records both.
        """
        model_id = str(self.settings.get(decl.setting, decl.default))
        device = resolve_device(self.device)
        dtype = decl.dtype if decl.dtype != "auto" else dtype_name(device, self.settings)
        model = self.models.get(
            self.model_key(decl), device, lambda d: decl.loader(model_id, d, dtype, self.settings)
        )
        if record:
            self.used_model(f"{label or model_id} on {device}")
        return model, device

    def model_key(self, decl: ModelDecl) -> str:
        """The model manager's key for ``decl`` under these settings (it adds the device)."""
        model_id = str(self.settings.get(decl.setting, decl.default))
        device = resolve_device(self.device)
        dtype = decl.dtype if decl.dtype != "auto" else dtype_name(device, self.settings)
        return decl.cache_key(model_id, dtype, self.settings)

    def for_step(self, env: Mapping[str, Any]) -> Context:
        """A fresh per-step context sharing this run's device, models, caches and settings."""
        return Context(
            self.device, self.models, env, self.run_cache, self.settings, [], [], self.services
        )
