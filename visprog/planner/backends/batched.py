"""Writing several programs at once with a local causal LM: one forward per step for all of them.

:meth:`TransformersBackend.complete_batch <visprog.planner.backends.local.TransformersBackend.
complete_batch>` is built on this. Every sequence (a *row*) keeps its own grammar matcher and, under a
:class:`~visprog.planner.scope.ScopedProgram`, its own per-statement grammar, exactly as the
one-at-a-time decoder does; only the model's forward passes are shared:

* the prompt's shared prefix is read once (its key/value cache kept per prefix text) and
  repeated over its rows (rows of different prefixes share a batch); each row's own rest of
  the prompt is read without padding, rows in sorted order, each from the previous row's
  cache as far as their tokens agree;
* at each step every live row feeds its next tokens (one sampled token plus the tokens its
  grammar forces, up to a width chosen per step, :meth:`BatchDecoder._width`); feeds of
  different lengths are padded on the left, so the last position holds every row's
  next-token logits;
* padding leaves holes in the shared cache. An explicit attention mask, built from each slot's
  *real* position, hides them: a key is seen when it is a real token, not after the query, and,
  for sliding-window layers (Gemma 3), within the window counted in real positions (those
  layers drop the leading slots no row can still see). Position ids are the real positions,
  so each row attends to exactly what it would alone;
* only the output-layer rows that a row's grammar allows next are computed, and attention
  shares each key/value head with its query heads (:func:`grouped_sdpa`);
* a row that finishes (its ``Result`` line, its grammar's end, a stop string, the token limit)
  leaves the batch, and its cache rows are dropped.

Greedy output therefore equals one-at-a-time greedy output (up to float rounding in the
attention sums). Sampling draws from the same distributions, but not the same random numbers.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from visprog.models import require
from visprog.planner.backends.base import cut_at_stop, eos_ids, hit_stop
from visprog.planner.constrained import GrammarMatcher
from visprog.planner.grammar import Grammar
from visprog.planner.scope import RESULT_LINE, ScopedProgram

if TYPE_CHECKING:
    from visprog.planner.backends.local import TransformersBackend

AnyGrammar = Grammar | ScopedProgram | str | None
MASK_TYPES = frozenset({"full_attention", "sliding_attention"})
# Models whose logits are the output layer of the decoder's last hidden state (soft-capped for
# Gemma 2 and 3), so the layer can be applied to the allowed tokens' rows only.
PLAIN_HEADS = frozenset({"gemma", "gemma2", "gemma3_text", "llama", "mistral", "qwen2", "qwen3"})
# What one decoding step costs beyond its tokens, in fed token slots (rows x width): a step
# streams the weights once whatever its width, then each slot costs its own compute and its
# row's cache read. Measured on a 2-core CPU with Gemma 3 270M (about 40 ms a step, 3.5 ms a
# slot at 20 rows and 900 slots); it sets how wide a step is worth padding (see _width).
STEP_SLOTS = 12
PREFILL_ROWS = 4  # rows of one prefill forward
SHARE_MIN = 16  # a row agreeing this long with the one before is read from its cache


@dataclass
class Row:
    """One sequence being written.

    Attributes:
        grammar: Its constraint: scoped (line by line), one grammar, or none.
        tokens: Tokens of the finished lines (scoped), or every token (otherwise).
        line: Tokens of the current line (scoped).
        matcher: The current line's matcher (None between lines, or unconstrained).
        text: The decoded text of ``tokens`` (scoped).
        started: Whether a line's matcher was built (False: build one before the next token).
        spent: No tokens left for another line (scoped): the row ends at its next turn.
        allowed: The grammar's mask for the next token, when computed before the forward.
    """

    grammar: AnyGrammar
    tokens: list[int] = field(default_factory=list)
    line: list[int] = field(default_factory=list)
    matcher: GrammarMatcher | None = None
    text: str = ""
    started: bool = False
    spent: bool = False
    allowed: Any = None


def batchable(model: Any) -> bool:
    """Whether the attention masks this module builds fit the model's attention layers.

    Models with per-layer attention types (``config.layer_types``, e.g. Gemma 3) take one mask
    per type (full and sliding window); models without them take one mask, which suits them
    only when they have no sliding window.
    """
    config = getattr(model, "config", None)
    types = getattr(config, "layer_types", None)
    if types:
        return set(types) <= MASK_TYPES
    return getattr(config, "sliding_window", None) is None or not getattr(
        config, "use_sliding_window", True
    )


@dataclass
class Slots:
    """Bookkeeping for the cache layers of one attention type (their slots line up).

    Attributes:
        layers: Indices of the cache layers of this type.
        window: The sliding window (0: full attention).
        real: (rows, slots) bool: the slot holds a token, not padding.
        pos: (rows, slots) long: the slot's position in its row's own sequence.
    """

    layers: list[int]
    window: int
    real: Any = None
    pos: Any = None


class BatchDecoder:
    """Decodes several rows that share one prompt prefix (see the module docstring).

    Args:
        backend: The backend whose model, tokenizer, matchers and picker are used.
        max_tokens: Most tokens per row.
        stop: Stop strings for unconstrained rows.
        temperature: 0 for greedy decoding.
    """

    def __init__(
        self,
        backend: TransformersBackend,
        max_tokens: int,
        stop: Sequence[str],
        temperature: float,
    ) -> None:
        self.backend = backend
        self.torch = require("torch", "llm", "the local language model")
        self.max_tokens = max_tokens
        self.stop = tuple(stop)
        self.temperature = temperature
        self.eos = eos_ids(backend.tokenizer, backend.model)
        self.device = next(backend.model.parameters()).device
        self.dtype = next(backend.model.parameters()).dtype
        config = backend.model.config
        types = list(getattr(config, "layer_types", None) or [])
        self.typed = bool(types)
        window = int(getattr(config, "sliding_window", 0) or 0)
        n_layers = len(types) or int(config.num_hidden_layers)
        kinds = types or ["full_attention"] * n_layers
        self.slots = {
            kind: Slots(
                [i for i, k in enumerate(kinds) if k == kind],
                window if kind == "sliding_attention" else 0,
            )
            for kind in dict.fromkeys(kinds)
        }
        self.head, self.softcap = output_layer(backend.model)
        self.vocab = int(backend.model.get_output_embeddings().weight.shape[0])
        self.cache: Any = None
        self.next_pos: Any = None  # (rows,) long: the position of each row's next token
        self.pending: list[list[int]] = []  # per live row: tokens still to feed
        self.width = 1  # tokens a row feeds this step (see _width)

    def run(
        self, prefixes: Sequence[str], rests: Sequence[str], grammars: Sequence[AnyGrammar]
    ) -> list[str]:
        """The continuation of ``prefixes[i] + rests[i]`` under ``grammars[i]``, for every row.

        Rows of different prefixes (prompts of different tasks) decode in one batch too: each
        row's cache starts with its own prefix's, and the masks count each row's own positions.
        """
        rows = [Row(g) for g in grammars]
        enc = self.backend._encode
        ids = [enc(r, special=not p) for p, r in zip(prefixes, rests, strict=True)]
        logits = self._prefill(list(prefixes), ids)
        live = list(range(len(rows)))
        self.pending = [[] for _ in live]
        while live:
            keep = []
            for k, i in enumerate(live):
                if not self.pending[k]:  # its last feed is in: its logits are the next token's
                    feed = self._advance(rows[i], logits[k])
                    if feed is None:
                        continue
                    self.pending[k] = feed
                keep.append(k)
            if len(keep) < len(live):
                self._select(keep)
            live = [live[k] for k in keep]
            if live:
                self.width = self._width()
                logits = self._forward(self._wants([rows[i] for i in live]))
        return [self._text(r) for r in rows]

    def _wants(self, rows: list[Row]) -> list[Any]:
        """Per live row, what of the next logits it reads.

        False: none (it is still feeding, or it ends); True: every token's; else the mask of
        the tokens its grammar allows.
        """
        out: list[Any] = []
        for row, pending in zip(rows, self.pending, strict=True):
            if len(pending) > self.width or row.spent:
                out.append(False)
            elif row.matcher is None:
                out.append(True)
            else:
                row.allowed = row.matcher.allowed(self.vocab)
                out.append(row.allowed)
        return out

    def _width(self) -> int:
        """How many of its pending tokens each row feeds this step.

        Rows feed one sampled token plus the tokens their grammar forces, so their pending
        runs differ in length; a step pads every row to its width. The width chosen is the one
        with the least cost per token fed, counting a step as :data:`STEP_SLOTS` slots plus
        rows x width: a long forced run in one row is fed over several steps while many rows
        are live, and at once when few are.
        """
        sizes = [len(p) for p in self.pending]
        best, score = 1, float("inf")
        for width in range(1, max(sizes) + 1):
            fed = sum(min(width, n) for n in sizes)
            cost = (STEP_SLOTS + len(sizes) * width) / fed
            if cost < score:
                best, score = width, cost
        return best

    def _prefill(self, prefixes: list[str], rests: list[list[int]]) -> Any:
        """Each row's prompt read, then the rows' caches merged.

        Rows are taken in sorted order (by prefix, then tokens). A row that agrees with the
        one before on at least :data:`SHARE_MIN` tokens (prompts that repeat the same closest
        examples after the shared prefix) is read alone from that row's cache, so those tokens
        are read once; the others are read from their prefix's cache in right-padded chunks
        of up to :data:`PREFILL_ROWS` rows of similar lengths (one forward for a chunk is
        5 to 10% cheaper per row on a CPU than one per row). Returns every row's next-token
        logits (see :meth:`_read`).
        """
        n = len(rests)
        caches: list[Any] = [None] * n
        logits: list[Any] = [None] * n
        lengths = [0] * n
        full: dict[int, Any] = {}  # row -> its uncropped cache, for the row read after it
        leaders: dict[str, list[int]] = {}
        follow: list[tuple[int, int, int]] = []  # (row, the row before, tokens they share)
        prev = -1
        for i in sorted(range(n), key=lambda k: (prefixes[k], rests[k])):
            same = prev >= 0 and prefixes[prev] == prefixes[i]
            shared = min(_common(rests[prev], rests[i]), len(rests[i]) - 1) if same else 0
            if shared >= SHARE_MIN:
                follow.append((i, prev, shared))
            else:
                leaders.setdefault(prefixes[i], []).append(i)
            prev = i
        needed = {p for _, p, _ in follow}
        for prefix, members in leaders.items():
            base = self._prefix_cache(prefix) if prefix else None
            start = base.get_seq_length() if base is not None else 0
            members.sort(key=lambda k: len(rests[k]))
            for first in range(0, len(members), PREFILL_ROWS):
                chunk = members[first : first + PREFILL_ROWS]
                got = self._read_chunk([rests[i] for i in chunk], base, start)
                for i, (row_logits, row_cache) in zip(chunk, got, strict=True):
                    logits[i], lengths[i] = row_logits, start + len(rests[i])
                    if i in needed:
                        full[i] = row_cache
                    caches[i] = self._crop_row(_view(row_cache, None), lengths[i])
        for i, p, shared in follow:  # in sorted order: the row before is always read first
            start = lengths[p] - len(rests[p])
            cache = _view(full[p], start + shared)
            tensor = self.torch.tensor(
                [rests[i][shared:]], dtype=self.torch.long, device=self.device
            )
            logits[i] = self._read(tensor, cache)
            lengths[i] = start + len(rests[i])
            if i in needed:
                full[i] = _view(cache, None)
            caches[i] = self._crop_row(_view(cache, None), lengths[i])
        self._merge(caches, lengths)
        return logits

    def _read_chunk(self, rests: list[list[int]], base: Any, start: int) -> list[tuple[Any, Any]]:
        """Rows read from the prefix cache ``base`` (``start`` slots) in one forward.

        Right-padded to the longest; the mask hides the padding as in decoding (each query
        sees the real keys up to its own position, within the window for sliding layers).
        Returns per row its logits and its cache (prefix and own tokens, no padding).
        """
        torch = self.torch
        if len(rests) == 1 or self.head is None:  # one row, or a model run whole: row by row
            out = []
            for ids in rests:
                cache = _view(base, start) if base is not None else _empty_cache()
                tensor = torch.tensor([ids], dtype=torch.long, device=self.device)
                out.append((self._read(tensor, cache), _view(cache, None)))
            return out
        width = max(len(r) for r in rests)
        lens = torch.tensor([len(r) for r in rests], device=self.device)
        ids = torch.tensor([r + [0] * (width - len(r)) for r in rests], device=self.device)
        offs = torch.arange(width, device=self.device)
        q_real = offs[None, :] < lens[:, None]
        q_pos = (start + offs).expand(len(rests), width)
        k_real = torch.cat([q_real.new_ones((len(rests), start)), q_real], dim=1)
        k_pos = torch.arange(start + width, device=self.device).expand(len(rests), -1)
        masks = {}
        for kind, slots in self.slots.items():
            probe = Slots(slots.layers, slots.window, k_real, k_pos)
            masks[kind] = self._mask(probe, q_pos, q_real)
        cache = _repeat(base, len(rests)) if base is not None else _empty_cache()
        kwargs = {
            "input_ids": ids,
            "attention_mask": masks if self.typed else masks["full_attention"],
            "position_ids": q_pos,
            self.backend._cache_kw_name(): cache,
        }
        from visprog.planner.backends.local import LastLogits

        with self._attention():
            hidden = self.backend.model.get_decoder()(use_cache=True, **kwargs).last_hidden_state
        out = []
        for b, ids_b in enumerate(rests):
            last = LastLogits(
                hidden=hidden[b, len(ids_b) - 1], head=self.head, softcap=self.softcap
            )
            out.append((last, _row(cache, b, start + len(ids_b))))
        return out

    def _read(self, ids: Any, cache: Any) -> Any:
        """One row's tokens read into ``cache``; the next token's logits.

        For a model whose logits are its output layer (see :func:`output_layer`), a
        :class:`~visprog.planner.backends.local.LastLogits` that applies the layer on demand:
        the row's first pick needs only the tokens its grammar allows, and the whole layer
        (670 MB of weights for Gemma 3's 262k words) read once per row would cost more than
        many of the rows' own tokens.
        """
        from visprog.planner.backends.local import LastLogits

        if self.head is None:
            out = self._model(input_ids=ids, cache=cache)
            return out.logits[0, -1].float().cpu().numpy()
        kw = {self.backend._cache_kw_name(): cache}
        hidden = self.backend.model.get_decoder()(input_ids=ids, use_cache=True, **kw)
        return LastLogits(
            hidden=hidden.last_hidden_state[0, -1], head=self.head, softcap=self.softcap
        )

    def _crop_row(self, cache: Any, length: int) -> Any:
        """Keep only the last ``window - 1`` slots of one row's sliding layers (no holes yet).

        Copied, so the row's uncropped cache (which the next row may read from) is freed.
        """
        for slots in self.slots.values():
            if slots.window:
                keep = max(0, length - slots.window + 1)
                for i in slots.layers:
                    layer = cache.layers[i]
                    layer.keys = layer.keys[:, :, keep:].clone()
                    layer.values = layer.values[:, :, keep:].clone()
        return cache

    def _merge(self, caches: list[Any], lengths: list[int]) -> None:
        """One cache for all rows: each row's slots, padded at the end with holes.

        Each layer's rows are copied once, straight into its :class:`Slab`'s buffer (the
        holes zeroed: masked keys get no weight, but their values must be finite).
        """
        torch = self.torch
        self.cache = caches[0]
        layers: list[Any] = [None] * len(self.cache.layers)
        for slots in self.slots.values():
            first = slots.layers[0]
            sizes = [c.layers[first].keys.shape[2] for c in caches]
            width = max(sizes)
            for i in slots.layers:
                parts = []
                for attr in ("keys", "values"):
                    one = getattr(caches[0].layers[i], attr)
                    buf = one.new_empty((len(caches), one.shape[1], width + ROOM, one.shape[3]))
                    for b, (c, size) in enumerate(zip(caches, sizes, strict=True)):
                        buf[b, :, :size] = getattr(c.layers[i], attr)[0]
                        buf[b, :, size:width] = 0
                    parts.append(buf)
                layers[i] = Slab(parts[0], parts[1], width)
            real = torch.zeros((len(caches), width), dtype=torch.bool, device=self.device)
            pos = torch.zeros((len(caches), width), dtype=torch.long, device=self.device)
            for b, (size, length) in enumerate(zip(sizes, lengths, strict=True)):
                real[b, :size] = True
                pos[b, :size] = torch.arange(length - size, length, device=self.device)
            slots.real, slots.pos = real, pos
        self.cache.layers = layers
        self.next_pos = torch.tensor(lengths, dtype=torch.long, device=self.device)

    def _prefix_cache(self, prefix: str) -> Any:
        """The prefix's key/value cache, read once per prefix text (bounded, oldest out).

        Kept apart from the one-at-a-time decoder's: that one's cache crops sliding-window
        layers as it goes, which the rows' own prompts still need uncropped.
        """
        from visprog.planner.backends.local import PREFIX_SLOTS

        store = self.backend._batch_prefixes
        if prefix not in store:
            if len(store) >= PREFIX_SLOTS:
                store.pop(next(iter(store)))
            ids = self.torch.tensor([self.backend._encode(prefix)], device=self.device)
            out = self._model(input_ids=ids, cache=_empty_cache())
            store[prefix] = getattr(out, self.backend._cache_kw_name())
        return store[prefix]

    def _model(self, **kwargs: Any) -> Any:
        """A forward with the cache under the model's own keyword, last logits only."""
        cache = kwargs.pop("cache")
        kw = {self.backend._cache_kw_name(): cache}
        return self.backend.model(use_cache=True, **self.backend._keep(), **kw, **kwargs)

    def _forward(self, wants: list[Any]) -> list[Any]:
        """Feed each live row up to ``self.width`` pending tokens (left-padded); their logits.

        Only the logits each row reads (``wants``, see :meth:`_wants`) are computed: the
        output layer is most of a step's work for a 262k-word vocabulary.
        """
        torch = self.torch
        feeds = [p[: self.width] for p in self.pending]
        self.pending = [p[self.width :] for p in self.pending]
        width = max(len(f) for f in feeds)
        pad = [width - len(f) for f in feeds]
        ids = torch.tensor([[0] * p + f for p, f in zip(pad, feeds, strict=True)])
        offs = torch.arange(width).expand(len(feeds), width) - torch.tensor(pad)[:, None]
        new_real = (offs >= 0).to(self.device)
        new_pos = (self.next_pos[:, None] + offs.to(self.device)).clamp(min=0)
        self.next_pos = self.next_pos + torch.tensor([len(f) for f in feeds], device=self.device)
        masks = {}
        for kind, slots in self.slots.items():
            slots.real = torch.cat([slots.real, new_real], dim=1)
            slots.pos = torch.cat([slots.pos, new_pos], dim=1)
            masks[kind] = self._mask(slots, new_pos, new_real)
        kwargs = {
            "input_ids": ids.to(self.device),
            "attention_mask": masks if self.typed else masks["full_attention"],
            "position_ids": new_pos,
            self.backend._cache_kw_name(): self.cache,
        }
        with self._attention():
            return self._run(kwargs, wants)

    def _attention(self) -> Any:
        """Grouped attention for models known to call the attention interface plainly."""
        config = self.backend.model.config
        plain = self.head is not None and config._attn_implementation == "sdpa"
        return grouped_attention(self.backend.model) if plain else nullcontext()

    def _run(self, kwargs: dict[str, Any], wants: list[Any]) -> list[Any]:
        """The forward itself: the whole model, or the decoder and the output layer's rows."""
        if self.head is None:
            res = self.backend.model(use_cache=True, **self.backend._keep(), **kwargs)
            logits = res.logits[:, -1].float().cpu().numpy()
            self._slide()
            return list(logits)
        hidden = self.backend.model.get_decoder()(use_cache=True, **kwargs).last_hidden_state
        self._slide()
        return self._logits(hidden[:, -1], wants)

    def _logits(self, hidden: Any, wants: list[Any]) -> list[Any]:
        """The output layer for the rows that read logits (None for the others).

        Over the columns any of them may pick (-inf elsewhere) when those are few.
        """
        torch = self.torch
        rows = [k for k, w in enumerate(wants) if w is not False]
        out: list[Any] = [None] * len(wants)
        if not rows:
            return out
        masks = [w for w in wants if w is not False and w is not True]
        columns = None
        if len(masks) == len(rows):
            union = np.flatnonzero(np.logical_or.reduce(masks))
            columns = union if union.size < self.vocab // 4 else None
        h = hidden[torch.tensor(rows, device=self.device)]
        z = head_logits(h, self.head, self.softcap, columns)
        for j, k in enumerate(rows):
            if columns is None:
                out[k] = z[j]
            else:
                out[k] = np.full(self.vocab, -np.inf, dtype=np.float32)
                out[k][columns] = z[j]
        return out

    def _mask(self, slots: Slots, q_pos: Any, q_real: Any) -> Any:
        """The additive mask (rows, 1, queries, slots) of one attention type."""
        torch = self.torch
        width = q_pos.shape[1]
        keys = slots.pos[:, None, :]
        seen = slots.real[:, None, :] & (keys <= q_pos[:, :, None])
        if slots.window:
            seen &= keys > q_pos[:, :, None] - slots.window
        # A padding query sees itself, so no row of the softmax is empty (no NaN can spread).
        seen[:, :, -width:] |= torch.diag_embed(~q_real)
        low = torch.tensor(torch.finfo(self.dtype).min, dtype=self.dtype, device=self.device)
        zero = torch.zeros((), dtype=self.dtype, device=self.device)
        return torch.where(seen, zero, low)[:, None]

    def _slide(self) -> None:
        """Drop the leading slots of sliding layers that no row's next token can see."""
        for slots in self.slots.values():
            if not slots.window:
                continue
            visible = slots.real & (slots.pos > self.next_pos[:, None] - slots.window)
            # Per row the first slot still visible (slots are in time order); the batch keeps
            # from the earliest of them.
            first = int(visible.float().argmax(dim=1).min())
            if first <= 0:
                continue
            for i in slots.layers:
                self.cache.layers[i].drop(first)
            slots.real, slots.pos = slots.real[:, first:], slots.pos[:, first:]

    def _select(self, keep: list[int]) -> None:
        """Drop the rows that finished, from the cache and the bookkeeping."""
        index = self.torch.tensor(keep, dtype=self.torch.long, device=self.device)
        for layer in self.cache.layers:
            layer.batch_select_indices(index)
        for slots in self.slots.values():
            slots.real, slots.pos = slots.real[index], slots.pos[index]
        self.next_pos = self.next_pos[index]
        self.pending = [self.pending[k] for k in keep]

    def _advance(self, row: Row, logits: Any) -> list[int] | None:
        """Pick the row's next token: the tokens to feed next, or None when the row is done.

        Follows the one-at-a-time decoder step for step (``TransformersBackend._decode`` and
        ``_complete_scoped``), so greedy output is the same.
        """
        scoped = isinstance(row.grammar, ScopedProgram)
        if row.spent or (not row.started and not self._begin(row, scoped)):
            return None
        out = row.line if scoped else row.tokens
        limit = self.max_tokens - len(row.tokens) if scoped else self.max_tokens
        token = -1 if len(out) >= limit else self._pick(row, logits)
        if token in self.eos or token < 0:  # the line (or the whole text) ends unfinished
            if scoped:
                self._end_line(row)
            return None
        out.append(token)
        feed = [token]
        matcher = row.matcher
        if matcher is None:
            hit = self.stop and hit_stop(self.backend.tokenizer, out, self.stop)
            return None if hit else feed
        forced = matcher.take(token)
        out += forced
        feed += forced
        if not matcher.done():
            return feed
        if not scoped:
            return None
        self._end_line(row)
        if row.text.rsplit("\n", 1)[-1].startswith(RESULT_LINE):
            return None
        # The next line's grammar now, so its mask is known before the forward (see _wants).
        row.spent = not self._new_line(row)
        return feed

    def _pick(self, row: Row, logits: Any) -> int:
        """The row's next token, with the mask computed before the forward when there is one."""
        allowed, row.allowed = row.allowed, None
        if allowed is None or row.matcher is None:
            return self.backend._pick(logits, row.matcher, self.temperature)
        if not allowed.any():
            return -1
        return self.backend._pick(np.where(allowed, logits, -np.inf), None, self.temperature)

    def _begin(self, row: Row, scoped: bool) -> bool:
        """Set up the matcher before a row's first token (scoped: before each line's first)."""
        if scoped:
            return self._new_line(row)
        row.started = True
        g = row.grammar
        row.matcher = self.backend.matcher(g) if isinstance(g, (Grammar, str)) else None
        return True

    def _new_line(self, row: Row) -> bool:
        """Build the grammar of the row's next line; False when the row has no tokens left."""
        from visprog.planner.backends.local import LINE_TOKENS

        if len(row.tokens) >= self.max_tokens:
            return False
        scoped = row.grammar
        assert isinstance(scoped, ScopedProgram)  # noqa: S101 - only called for scoped rows
        final = self.max_tokens - len(row.tokens) < LINE_TOKENS  # keep room for the Result line
        row.matcher = self.backend.matcher(scoped.grammar(row.text, final))
        row.line, row.started = [], True
        return True

    def _end_line(self, row: Row) -> None:
        """Move the line's tokens to the row's text."""
        row.tokens += row.line
        row.line = []
        row.text = str(self.backend.tokenizer.decode(row.tokens, skip_special_tokens=True))

    def _text(self, row: Row) -> str:
        if isinstance(row.grammar, ScopedProgram):
            return row.text
        text = str(self.backend.tokenizer.decode(row.tokens, skip_special_tokens=True))
        return text if row.grammar is not None else cut_at_stop(text, self.stop)


class Slab:
    """One cache layer of the batch, its slots in a buffer with room at the end.

    A step's keys and values are written into the room in place; transformers' dynamic layer
    concatenates instead, which copies the whole batch's cache of every layer at every step
    (a fifth of a 32-row decode's time on a CPU). The buffer grows by :data:`ROOM` slots when
    full, and dropping leading slots (sliding-window layers) moves its start only.

    Args:
        keys: (rows, heads, slots, dim) buffer whose first ``used`` slots hold the keys so far.
        values: Their values, in a buffer of the same shape.
        used: How many slots are in use (all: the buffer is copied with :data:`ROOM` more).
    """

    is_sliding = False  # the mask is built here, from each slot's real position
    is_initialized = True

    def __init__(self, keys: Any, values: Any, used: int | None = None) -> None:
        if used is None:
            used, keys, values = int(keys.shape[2]), _roomy(keys, ROOM), _roomy(values, ROOM)
        self.start, self.end = 0, used
        self.k, self.v = keys, values

    @property
    def keys(self) -> Any:
        """(rows, heads, slots, dim): the keys of the slots in use (a view of the buffer)."""
        return self.k[:, :, self.start : self.end]

    @property
    def values(self) -> Any:
        """The values of the slots in use (a view of the buffer)."""
        return self.v[:, :, self.start : self.end]

    def update(self, keys: Any, values: Any, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
        """Append a step's keys and values; the layer's keys and values, theirs included."""
        width = int(keys.shape[2])
        if self.end + width > self.k.shape[2]:
            self.k, self.v = _roomy(self.keys, ROOM + width), _roomy(self.values, ROOM + width)
            self.start, self.end = 0, self.end - self.start
        self.k[:, :, self.end : self.end + width] = keys
        self.v[:, :, self.end : self.end + width] = values
        self.end += width
        return self.keys, self.values

    def drop(self, n: int) -> None:
        """Forget the first ``n`` slots in use."""
        self.start += n

    def batch_select_indices(self, indices: Any) -> None:
        """Keep only the rows ``indices`` (with the room after their slots)."""
        self.k, self.v = self.k[indices], self.v[indices]

    def get_seq_length(self) -> int:
        """How many slots are in use."""
        return self.end - self.start

    def get_mask_sizes(self, query_length: int) -> tuple[int, int]:
        """(key length, offset) for a query of ``query_length`` (transformers' mask sizes)."""
        return self.get_seq_length() + query_length, 0


ROOM = 64  # slots a Slab buffer grows by


def _roomy(tensor: Any, room: int) -> Any:
    """A copy of ``tensor`` (rows, heads, slots, dim) with ``room`` empty slots after its own."""
    b, h, n, d = tensor.shape
    out = tensor.new_empty((b, h, n + room, d))
    out[:, :, :n] = tensor
    return out


GROUPED = "visprog_grouped_sdpa"


def grouped_sdpa(
    module: Any,
    query: Any,
    key: Any,
    value: Any,
    attention_mask: Any,
    dropout: float = 0.0,
    scaling: float | None = None,
    **kwargs: Any,
) -> tuple[Any, None]:
    """Scaled dot-product attention that shares each key/value head with its query heads.

    transformers' SDPA path copies every key/value head once per query head when a mask is
    given (``repeat_kv``): for Gemma 3 270M (4 query heads, 1 key/value head) that is four
    copies of a batch's whole cache per layer and step. Here the query heads of a group
    become extra query rows of their key/value head instead, the same dot products without
    the copies.
    """
    torch = require("torch", "llm", "the local language model")
    b, heads, q, d = query.shape
    kv = key.shape[1]
    group = heads // kv
    rows = query.reshape(b, kv, group * q, d)  # heads j*group.. share key/value head j
    mask = attention_mask
    if mask is not None:
        mask = mask[:, :, None].expand(b, mask.shape[1], group, q, mask.shape[-1])
        mask = mask.reshape(b, mask.shape[1], group * q, -1)
    out = torch.nn.functional.scaled_dot_product_attention(
        rows, key, value, attn_mask=mask, dropout_p=dropout, scale=scaling
    )
    return out.reshape(b, heads, q, d).transpose(1, 2).contiguous(), None


@contextmanager
def grouped_attention(model: Any) -> Iterator[None]:
    """Run ``model``'s attention layers with :func:`grouped_sdpa` for the duration.

    Only inside the batched decode, whose masks are prepared here (transformers builds no
    mask for this implementation).
    """
    transformers = require("transformers", "llm", "the local language model")
    if GROUPED not in transformers.AttentionInterface._global_mapping:
        transformers.AttentionInterface.register(GROUPED, grouped_sdpa)
    config = model.config
    before = config._attn_implementation
    config._attn_implementation = GROUPED
    try:
        yield
    finally:
        config._attn_implementation = before


def output_layer(model: Any) -> tuple[Any, float]:
    """(output layer, logit soft-cap) of a model whose logits are just that layer's output.

    (None, 0) for other models, which then run their whole forward.
    """
    config = model.config
    if getattr(config, "model_type", None) not in PLAIN_HEADS:
        return None, 0.0
    head = model.get_output_embeddings()
    torch = require("torch", "llm", "the local language model")
    if not isinstance(head, torch.nn.Linear):
        return None, 0.0
    return head, float(getattr(config, "final_logit_softcapping", None) or 0.0)


def head_logits(hidden: Any, head: Any, softcap: float, columns: Any = None) -> Any:
    """The output layer's logits for ``hidden`` (numpy, float32), soft-capped as the forward is.

    With ``columns`` (numpy token ids), the layer's rows for those tokens only, in that order:
    a grammar allows a few hundred of Gemma 3's 262k tokens, and the full layer is most of a
    decoding step's work.
    """
    torch = require("torch", "llm", "the local language model")
    if columns is None:
        z = head(hidden)
    else:
        idx = torch.from_numpy(np.asarray(columns, dtype=np.int64)).to(head.weight.device)
        z = hidden @ head.weight[idx].T
        if head.bias is not None:
            z = z + head.bias[idx]
    if softcap:
        z = torch.tanh(z / softcap) * softcap
    return z.float().cpu().numpy()


def _common(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the common start of two token lists."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _view(cache: Any, length: int | None) -> Any:
    """A cache of the first ``length`` slots of ``cache`` (all when None), sharing its tensors.

    Forwards add to a cache by concatenation (new tensors), so the original stays as it was.
    """
    out = copy.copy(cache)
    out.layers = [copy.copy(layer) for layer in cache.layers]
    for layer in out.layers:
        layer.keys, layer.values = layer.keys[:, :, :length], layer.values[:, :, :length]
    return out


def _row(cache: Any, b: int, length: int) -> Any:
    """A cache of row ``b``'s first ``length`` slots of ``cache`` (views of its tensors)."""
    out = copy.copy(cache)
    out.layers = [copy.copy(layer) for layer in cache.layers]
    for layer in out.layers:
        layer.keys, layer.values = (
            layer.keys[b : b + 1, :, :length],
            layer.values[b : b + 1, :, :length],
        )
    return out


def _repeat(cache: Any, rows: int) -> Any:
    """``cache`` (one row) seen as ``rows`` rows, without copying (forwards concatenate)."""
    out = copy.copy(cache)
    out.layers = [copy.copy(layer) for layer in cache.layers]
    for layer in out.layers:
        layer.keys = layer.keys.expand(rows, -1, -1, -1)
        layer.values = layer.values.expand(rows, -1, -1, -1)
    return out


def _empty_cache() -> Any:
    """A cache whose layers keep every slot (no config: no sliding-window cropping)."""
    transformers = require("transformers", "llm", "the local language model")
    return transformers.DynamicCache()
