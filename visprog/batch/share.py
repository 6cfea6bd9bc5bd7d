"""Work shared between the items of a batch: identical steps computed once.

:class:`StepMemo` wraps every deterministic tool of a registry so that a step called with the
same arguments (compared by content: pixels, boxes, labels, text) returns the value computed the
first time. GQA asks about 30 questions per image, and many start with the same ``Loc``; the
second one costs a hash. The memo also hands every step one batch-wide ``run_cache`` (bounded),
so content-keyed caches inside tools, such as Seg's image embeddings, outlive one item.

Why this is sound: a tool's output depends only on its arguments, the settings and the device,
which are fixed for a batch (one engine, one set of settings). The exceptions are excluded by
name: ``Eval`` reads the environment, ``List`` asks a language model service, ``Result`` is free.
Values are frozen dataclasses, so a shared value cannot be changed by the item that reuses it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from visprog.context import Context
from visprog.registry import Registry, ToolSpec
from visprog.values import Image, Objects, Points

NOT_SHARED = frozenset({"Eval", "List", "Result"})
DEFAULT_ENTRIES = 256
DEFAULT_BYTES = 512 << 20  # step outputs kept for reuse; SAM 2 embeddings count only as entries


class LRU(OrderedDict[Any, Any]):
    """A dict that forgets its least recently used entries past a count or a size.

    Sizes count pixel and mask arrays (:func:`nbytes`), so memory stays flat over any batch.
    """

    def __init__(self, limit: int, max_bytes: int = DEFAULT_BYTES) -> None:
        super().__init__()
        self.limit = limit
        self.max_bytes = max_bytes
        self.bytes = 0
        self._sizes: dict[Any, int] = {}

    def __getitem__(self, key: Any) -> Any:
        value = super().__getitem__(key)
        self.move_to_end(key)
        return value

    def __setitem__(self, key: Any, value: Any) -> None:
        if key in self:
            del self[key]
        super().__setitem__(key, value)
        self._sizes[key] = size = nbytes(value)
        self.bytes += size
        while len(self) > 1 and (len(self) > self.limit or self.bytes > self.max_bytes):
            self.popitem(last=False)

    def __delitem__(self, key: Any) -> None:
        super().__delitem__(key)
        self.bytes -= self._sizes.pop(key, 0)

    def popitem(self, last: bool = True) -> tuple[Any, Any]:
        """Remove and return the newest (``last``) or oldest entry."""
        key, value = super().popitem(last=last)
        self.bytes -= self._sizes.pop(key, 0)
        return key, value


def nbytes(value: Any) -> int:
    """Roughly how much memory a value holds: its arrays (and those of a tuple's items)."""
    if isinstance(value, tuple):
        return sum(nbytes(v) for v in value)
    if isinstance(value, (Image, Objects, Points)):
        return sum(a.nbytes for a in vars(value).values() if isinstance(a, np.ndarray))
    return 64


class Fingerprints:
    """Content digests of values, computed once per value object (values are immutable)."""

    def __init__(self) -> None:
        self._seen: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()

    def of(self, value: Any) -> Any:
        """A hashable digest: equal for values with equal content and frame."""
        if isinstance(value, (Image, Objects, Points)):
            known = self._seen.get(value)
            if known is None:
                known = self._seen[value] = _digest(value)
            return known
        if isinstance(value, list):
            return ("list", *(self.of(v) for v in value))
        return (type(value).__name__, value)


def _digest(value: Image | Objects | Points) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(type(value).__name__.encode())
    for name, part in sorted(vars(value).items()):
        h.update(name.encode())
        if isinstance(part, np.ndarray):
            h.update(f"{part.dtype}{part.shape}".encode())
            h.update(np.ascontiguousarray(part).tobytes())
        else:
            h.update(repr(part).encode())
    return h.hexdigest()


class StepMemo:
    """Computes each (step, arguments) once per batch, within a bounded number of entries.

    Args:
        entries: Most remembered step outputs (and, separately, run-cache entries).

    Attributes:
        hits: Steps answered from the memo.
        misses: Steps that ran.
    """

    def __init__(self, entries: int = DEFAULT_ENTRIES) -> None:
        self.outputs = LRU(entries)
        self.run_cache = LRU(max(8, entries // 16))  # embeddings are large: keep fewer
        self.fingerprints = Fingerprints()
        self.hits = 0
        self.misses = 0

    def wrap(self, registry: Registry) -> Registry:
        """A copy of ``registry`` whose shareable tools go through this memo."""
        out = Registry()
        for spec in registry:
            if spec.name in NOT_SHARED:
                out.add(spec)
                continue
            batched = self._batched(spec) if spec.batched is not None else None
            out.add(dataclasses.replace(spec, fn=self._wrapped(spec), batched=batched))
        return out

    def _key(self, spec: ToolSpec, kwargs: dict[str, Any]) -> Any:
        args = {k: v for k, v in kwargs.items() if k != spec.context_param}
        return (spec.name, tuple(sorted((k, self.fingerprints.of(v)) for k, v in args.items())))

    def _wrapped(self, spec: ToolSpec) -> Callable[..., Any]:
        def call(**kwargs: Any) -> Any:
            ctx = kwargs.get(spec.context_param) if spec.context_param else None
            key = self._key(spec, kwargs)
            if key in self.outputs:
                return self._reuse(key, ctx)
            if isinstance(ctx, Context):
                ctx.run_cache = self.run_cache
            out = spec.fn(**kwargs)
            self.misses += 1
            models = list(ctx.models_used) if isinstance(ctx, Context) else []
            self.outputs[key] = (out, models)
            return out

        return call

    def _batched(self, spec: ToolSpec) -> Callable[[list[dict[str, Any]]], list[Any]]:
        """``spec.batched`` behind the memo: known calls and repeats within a chunk run once."""
        inner = spec.batched
        assert inner is not None  # noqa: S101 - only wrapped when declared

        def call(calls: list[dict[str, Any]]) -> list[Any]:
            keys = [self._key(spec, kwargs) for kwargs in calls]
            ctxs = [kw.get(spec.context_param) if spec.context_param else None for kw in calls]
            out: list[Any] = [None] * len(calls)
            todo: dict[Any, list[int]] = {}
            for i, key in enumerate(keys):
                if key in self.outputs:
                    out[i] = self._reuse(key, ctxs[i])
                else:
                    todo.setdefault(key, []).append(i)
            firsts = [indices[0] for indices in todo.values()]
            for i in firsts:
                ctx = ctxs[i]
                if isinstance(ctx, Context):
                    ctx.run_cache = self.run_cache
            fresh = inner([calls[i] for i in firsts]) if firsts else []
            for (key, indices), value in zip(todo.items(), fresh, strict=True):
                self.misses += 1
                ctx = ctxs[indices[0]]
                models = list(ctx.models_used) if isinstance(ctx, Context) else []
                self.outputs[key] = (value, models)
                out[indices[0]] = value
                for j in indices[1:]:  # the same call from another item: as if it ran later
                    out[j] = self._share(value, models, ctxs[j])
            return out

        return call

    def _reuse(self, key: Any, ctx: Any) -> Any:
        out, models = self.outputs[key]
        return self._share(out, models, ctx)

    def _share(self, out: Any, models: list[str], ctx: Any) -> Any:
        self.hits += 1
        if isinstance(ctx, Context):
            for model in models:
                ctx.used_model(model)
            ctx.note("shared: the same step on the same inputs already ran in this batch")
        return out
