"""Program generation: a query becomes a program that parses and checks.

* :mod:`~visprog.planner.prompts`: prompt files (``prompts/*.toml``), rendering, task choice;
* :mod:`~visprog.planner.bank` and :mod:`~visprog.planner.retrieve`: the example bank expanded
  from ``prompts/bank.toml`` and the retrieval of the examples closest to a query in shape;
* :mod:`~visprog.planner.scope` and :mod:`~visprog.planner.vocab`: per-statement grammars
  built from the scope and the query's words;
* :mod:`~visprog.planner.backends`: OpenAI-compatible HTTP, local transformers, offline default;
* :mod:`~visprog.planner.grammar` and :mod:`~visprog.planner.constrained`: the generation
  grammar and llguidance-constrained decoding;
* :mod:`~visprog.planner.repair`: the repair loop; :mod:`~visprog.planner.cache`: the cache.

Nothing here imports torch or transformers until a local model is loaded.
"""

from visprog.planner.backends import Backend, backend_spec, make_backend, shared_backend
from visprog.planner.cache import ProgramCache
from visprog.planner.prompts import TASKS, choose_task, load_prompt
from visprog.planner.repair import Attempt, Generation, Request, generate_program, generate_programs

__all__ = [
    "TASKS",
    "Attempt",
    "Backend",
    "Generation",
    "ProgramCache",
    "Request",
    "backend_spec",
    "choose_task",
    "generate_program",
    "generate_programs",
    "load_prompt",
    "make_backend",
    "shared_backend",
]
