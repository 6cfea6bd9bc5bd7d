"""Train the program writer's LoRA adapter on the example bank (rebuilds the shipped adapter).

    OMP_NUM_THREADS=1 .venv/bin/python scripts/train_adapter.py --epochs 1 \
        --out visprog/planner/adapters/gemma3-270m-bank.safetensors

The corpus is the example bank (``visprog/prompts/bank.toml`` expanded by
:func:`visprog.planner.bank.load_bank`): every (query, program) pair, in the adapter's short
prompt form (:func:`visprog.planner.adapter.adapter_prompt`: the task and the question, no
in-context examples). The base model is the offline default, Gemma 3 270M, loaded as visprog
loads it; LoRA matrices are added to every attention and MLP projection, the base stays frozen,
and the loss is the program's tokens only. Training is seeded and runs on the CPU in minutes.

The saved file holds only the LoRA matrices (safetensors) and metadata naming the base model,
rank, scale and the bank's hash; :func:`visprog.planner.adapter.merge_adapter` folds them into
the weights when the model loads.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import random
import sys
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from visprog.planner.adapter import TARGETS, adapter_prompt, save_adapter  # noqa: E402
from visprog.planner.backends.gemma import NAME, load_default  # noqa: E402
from visprog.planner.backends.local import TransformersBackend  # noqa: E402
from visprog.planner.bank import bank_text, load_bank  # noqa: E402


class LoRALinear(torch.nn.Module):
    """A frozen linear layer plus a trainable low-rank update ``scale * B @ A``."""

    def __init__(self, base: torch.nn.Linear, rank: int, alpha: float) -> None:
        super().__init__()
        self.base = base
        self.scale = alpha / rank
        self.A = torch.nn.Parameter(
            torch.randn(rank, base.in_features) / math.sqrt(base.in_features)
        )
        self.B = torch.nn.Parameter(torch.zeros(base.out_features, rank))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.base(x) + (x @ self.A.T) @ self.B.T * self.scale
        return out


def wrap(model: torch.nn.Module, rank: int, alpha: float) -> dict[str, LoRALinear]:
    """Replace every target projection with a LoRALinear; returns them by weight name."""
    out: dict[str, LoRALinear] = {}
    for name, module in list(model.named_modules()):
        for attr in TARGETS:
            child = getattr(module, attr, None)
            if isinstance(child, torch.nn.Linear):
                lora = LoRALinear(child, rank, alpha)
                setattr(module, attr, lora)
                out[f"{name}.{attr}.weight"] = lora
    return out


def encode(tokenizer: Any, task: str, query: str, program: str) -> tuple[list[int], int]:
    """Token ids of prompt + program + newline, and where the program starts."""
    prompt = tokenizer(adapter_prompt(task, query)).input_ids  # with <bos>, as at inference
    target = tokenizer(program.strip() + "\n", add_special_tokens=False).input_ids
    return prompt + target, len(prompt)


def main() -> None:
    """Train and save the adapter."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument(
        "--model", help="a transformers model folder instead of the offline default (for tests)"
    )
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--alpha", type=float, default=16.0)
    ap.add_argument("--epochs", type=float, default=2.0)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--save-every", type=int, default=0, help="also save every N steps")
    ap.add_argument(
        "--limit", type=int, default=0, help="use only this many examples (a smoke run)"
    )
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    say = lambda m: print(m, file=sys.stderr)  # noqa: E731
    if args.model:
        backend = TransformersBackend.load(args.model, "cpu", say)
        base = Path(args.model).name
    else:
        backend = load_default("cpu", say, adapter=False)
        base = NAME
    tok, model = backend.tokenizer, backend.model.float()
    for p in model.parameters():
        p.requires_grad_(False)
    loras = wrap(model, args.rank, args.alpha)
    params = [p for m in loras.values() for p in (m.A, m.B)]
    print(
        f"{len(loras)} LoRA modules, {sum(p.numel() for p in params):,} parameters", file=sys.stderr
    )

    examples = list(load_bank())
    if args.limit:
        examples = rng.sample(examples, args.limit)
    data = [encode(tok, e.task, e.query, e.program) for e in examples]
    steps = max(1, int(len(data) * args.epochs / args.batch))
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 10) * max(0.05, 1 - s / steps)
    )
    # The softmax runs over the tokens the corpus uses (a few thousand of 262k): at inference the
    # grammar picks among a handful of allowed tokens anyway, and the full output layer would be
    # most of a training step on the CPU.
    vocab = torch.tensor(sorted({t for ids, _ in data for t in ids}))
    index = torch.full((int(vocab.max()) + 1,), -1, dtype=torch.long)
    index[vocab] = torch.arange(len(vocab))
    head = model.get_output_embeddings().weight[vocab]
    print(f"{len(data)} examples, softmax over {len(vocab)} tokens", file=sys.stderr)
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    model.train()
    order: list[int] = []
    start = time.perf_counter()
    for step in range(steps):
        if len(order) < args.batch:
            more = list(range(len(data)))
            rng.shuffle(more)
            order += more
        batch = [data[i] for i in order[: args.batch]]
        del order[: args.batch]
        width = max(len(ids) for ids, _ in batch)
        ids = torch.full((len(batch), width), pad)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        rows, cols, targets = [], [], []
        for r, (seq, begin) in enumerate(batch):
            ids[r, : len(seq)] = torch.tensor(seq)
            mask[r, : len(seq)] = 1
            for c in range(begin, len(seq)):  # hidden state at c-1 predicts token c
                rows.append(r)
                cols.append(c - 1)
                targets.append(seq[c])
        hidden = model.model(input_ids=ids, attention_mask=mask).last_hidden_state
        logits = hidden[torch.tensor(rows), torch.tensor(cols)] @ head.T
        loss = torch.nn.functional.cross_entropy(logits, index[torch.tensor(targets)])
        loss.backward()
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        if step % 10 == 0 or step == steps - 1 or args.limit:
            el = time.perf_counter() - start
            print(f"step {step + 1}/{steps} loss {loss.item():.4f} {el:.0f} s", file=sys.stderr)

        if args.save_every and (step + 1) % args.save_every == 0 and step + 1 < steps:
            part = args.out.with_name(f"{args.out.stem}.step{step + 1}{args.out.suffix}")
            save_adapter(part, _matrices(loras), _meta(args, base, len(data)))
    save_adapter(args.out, _matrices(loras), _meta(args, base, len(data)))
    print(f"saved {args.out}", file=sys.stderr)


def _matrices(loras: dict[str, LoRALinear]) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    # Half precision: the shipped file is half the size, and the merge adds in float32.
    return {k: (m.A.detach().half(), m.B.detach().half()) for k, m in loras.items()}


def _meta(args: argparse.Namespace, base: str, examples: int) -> dict[str, str]:
    return {
        "base": base,
        "rank": str(args.rank),
        "alpha": str(args.alpha),
        "bank": hashlib.sha256(bank_text().encode()).hexdigest()[:16],
        "examples": str(examples),
        "epochs": str(args.epochs),
        "seed": str(args.seed),
    }


if __name__ == "__main__":
    main()
