"""The trace page: a pure function of a :class:`~visprog.trace.Trace`.

Layout: a summary (query, status, final result, facts, inputs), the program with each line
linked to its step, one card per statement (ran, failed, or not run), and the program-generation
records folded away. CSS and JS are inline and allowed by hash in the page's Content-Security-
Policy, which forbids every other origin: the page works from ``file://`` and offline, and text
written by models cannot run as script.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from visprog.errors import VisprogError
from visprog.render.generation import generation_section
from visprog.render.highlight import highlight
from visprog.render.html import esc, fmt_seconds, tag
from visprog.render.media import DEFAULT_MAX_SIDE, ImageStore
from visprog.render.values import ValueRenderer
from visprog.trace import ErrorInfo, StepRecord, Trace

OK, FAILED, NOT_RUN = "ok", "failed", "not run"


@cache
def asset(name: str) -> str:
    """The text of ``viewer.css`` or ``viewer.js`` (package data)."""
    return resources.files("visprog.render").joinpath(name).read_text(encoding="utf-8")


def csp_hash(text: str) -> str:
    """The CSP source expression that allows exactly this inline script or style."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def content_security_policy(css: str, js: str) -> str:
    """Nothing from any origin: images only as ``data:``, style and script only these inline ones."""
    return (
        f"default-src 'none'; img-src data:; style-src {csp_hash(css)}; "
        f"script-src {csp_hash(js)}; base-uri 'none'; form-action 'none'"
    )


@dataclass(frozen=True)
class Statement:
    """A program statement as the page needs it: position, names and its source lines."""

    index: int
    line: int
    end_line: int
    target: str
    step: str


def statements(trace: Trace) -> list[Statement]:
    """The program's statements, parsed from ``trace.program``.

    When the text does not parse (a hand-made or truncated trace), the recorded steps stand in.
    """
    from visprog.syntax import parse

    lines = trace.program.split("\n")
    try:
        parsed = [
            (s.line, s.target, s.step) for s in parse(trace.program, trace.filename).statements
        ]
    except (VisprogError, RecursionError, ValueError):  # the page must render regardless
        parsed = [(s.line, s.target, s.step) for s in trace.steps]
    out = []
    for i, (line, target, step) in enumerate(parsed):
        nxt = parsed[i + 1][0] - 1 if i + 1 < len(parsed) else len(lines)
        out.append(Statement(i, line, _last_code_line(lines, line, nxt), target, step))
    return out


def _last_code_line(lines: list[str], first: int, last: int) -> int:
    """The last line of a statement: trailing blank and comment-only lines are not part of it."""
    last = min(last, len(lines))
    while last > first and (
        not lines[last - 1].strip() or lines[last - 1].lstrip().startswith("#")
    ):
        last -= 1
    return max(last, first)


class Page:
    """Builds one page; keeps the image store so each image is encoded once."""

    def __init__(self, trace: Trace, max_side: int | None) -> None:
        self.trace = trace
        self.store = ImageStore(max_side)
        self.values = ValueRenderer(self.store, trace.inputs)
        self.lines = highlight(trace.program)
        self.statements = statements(trace)
        self.records = {s.index: s for s in trace.steps}
        self.status = {st.index: self._status(st.index) for st in self.statements}

    def _status(self, index: int) -> str:
        rec = self.records.get(index)
        if rec is None:
            return NOT_RUN
        return FAILED if rec.error is not None else OK

    def html(self) -> str:
        """The whole document."""
        css, js = asset("viewer.css"), asset("viewer.js")
        body = (
            self.header()
            + tag(
                "main",
                self.summary()
                + self.program()
                + self.steps()
                + generation_section(self.trace.generation),
                id="main",
            )
            + self.dialog()
        )
        title = f"visprog · {self.trace.query or self.trace.filename}"
        return (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{content_security_policy(css, js)}">'
            '<meta name="referrer" content="no-referrer">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="color-scheme" content="light dark">'
            f'<meta name="generator" content="visprog {esc(self.trace.version)}">'
            f"<title>{esc(title)}</title><style>{css}</style></head><body>"
            '<a class="skip" href="#steps">Skip to the steps</a>'
            f"{self.store.defs()}{body}<script>{js}</script></body></html>\n"
        )

    # -- summary --------------------------------------------------------------------------

    def header(self) -> str:
        """Title and query."""
        query = self.trace.query
        q = (
            tag("p", esc(query), class_="query")
            if query
            else tag("p", "no query: the program was given", class_="query none")
        )
        badge = _badge(OK if self.trace.ok else FAILED)
        return tag("header", tag("h1", f"visprog trace {badge}") + q, class_="top")

    def summary(self) -> str:
        """Result, facts and inputs."""
        return tag(
            "section",
            tag("h2", "Summary", id="summary-h", class_="vh")
            + self.result()
            + self.facts()
            + self.inputs(),
            id="summary",
            aria_labelledby="summary-h",
        )

    def result(self) -> str:
        """The final answer, large; or the error that stopped the run."""
        t = self.trace
        if t.error is not None:
            body = _error_box(t.error, self._error_step())
        elif t.result is None and not any(st.step == "Result" for st in t.steps):
            body = tag("p", "no result recorded", class_="none")
        else:
            body = self.values.html(t.result, large=True)
        return tag(
            "div",
            tag("h2", "Result" if t.ok else "Run failed") + body,
            class_=f"result {'ok' if t.ok else 'failed'}",
        )

    def _error_step(self) -> int | None:
        return next((s.index for s in self.trace.steps if s.error is not None), None)

    def facts(self) -> str:
        """Time, steps, device, models, file, version."""
        t = self.trace
        ran = len(self.records)
        total = len(set(self.records) | {st.index for st in self.statements})
        models = "".join(tag("li", esc(m)) for m in t.models) or tag(
            "li", "none (no model was needed)", class_="none"
        )
        rows = [
            ("Total time", esc(fmt_seconds(t.seconds))),
            ("Steps", esc(f"{ran} of {total} ran")),
            ("Device", esc(t.device)),
            ("Models", tag("ul", models, class_="models")),
            ("Program", esc(t.filename)),
            ("Started", esc(t.started or "unknown")),
            ("visprog", esc(t.version or "unknown")),
        ]
        dl = "".join(tag("dt", k) + tag("dd", v) for k, v in rows)
        return tag("dl", dl, class_="facts")

    def inputs(self) -> str:
        """The inputs side by side, each under its name (LEFT before RIGHT)."""
        names = sorted(self.trace.inputs, key=lambda n: {"LEFT": 0, "RIGHT": 1}.get(n, 2))
        if not names:
            return ""
        cards = "".join(
            tag(
                "div",
                tag("h3", tag("code", esc(n))) + self.values.html(self.trace.inputs[n]),
                class_="input",
            )
            for n in names
        )
        return tag(
            "div",
            tag("h2", "Inputs") + tag("div", cards, class_=f"inputs n{min(len(names), 3)}"),
            class_="inputs-wrap",
        )

    # -- program ----------------------------------------------------------------------------

    def program(self) -> str:
        """The program, one link per line to the step it belongs to."""
        owner = {ln: st for st in self.statements for ln in range(st.line, st.end_line + 1)}
        out = []
        for number, code in enumerate(self.lines, start=1):
            st = owner.get(number)
            inner = f'<span class="no" aria-hidden="true">{number}</span>{code or " "}'
            if st is None:
                out.append(f'<span class="ln" id="L{number}">{inner}</span>')
            else:
                status = self.status[st.index].replace(" ", "")
                label = esc(
                    f"line {number}: step {st.index + 1}, {st.target} ({self.status[st.index]})"
                )
                link = f'class="ln s-{status}" id="L{number}" href="#step-{st.index}"'
                out.append(f'<a {link} aria-label="{label}">{inner}</a>')
        pre = tag("pre", tag("code", "".join(out)), class_="code program")
        return tag(
            "section",
            tag("h2", "Program", id="program-h") + pre,
            id="program",
            aria_labelledby="program-h",
        )

    # -- steps ------------------------------------------------------------------------------

    def steps(self) -> str:
        """One card per statement."""
        cards = "".join(self.card(st) for st in self.statements)
        orphans = [r for r in self.trace.steps if r.index >= len(self.statements)]
        cards += "".join(
            self.card(Statement(r.index, r.line, r.line, r.target, r.step)) for r in orphans
        )
        toggle = (
            '<label class="overlay-toggle"><input type="checkbox" id="hide-overlays"> '
            "hide boxes, masks and points</label>"
        )
        return tag(
            "section",
            tag("h2", "Steps", id="steps-h") + toggle + tag("ol", cards, class_="cards"),
            id="steps",
            aria_labelledby="steps-h",
            tabindex=-1,
        )

    def card(self, st: Statement) -> str:
        """A step card: header, source, arguments, output, model, notes, error."""
        rec = self.records.get(st.index)
        status = self._status(st.index)
        name = rec.step if rec else st.step
        head = (
            tag(
                "h3",
                f'<span class="idx">{st.index + 1}</span> <code>{esc(st.target)}</code> = '
                f'<span class="stepname">{esc(name)}</span>',
                id=f"step-{st.index}-h",
            )
            + _badge(status)
            + (tag("span", esc(fmt_seconds(rec.seconds)), class_="time") if rec else "")
            + tag("a", esc(f"line {st.line}"), href=f"#L{st.line}", class_="lineref")
        )
        src_lines = self.lines[st.line - 1 : st.end_line] if st.line >= 1 else []
        src = "\n".join(src_lines) if src_lines else esc(rec.source if rec else "")
        body = tag("div", head, class_="card-head") + tag(
            "pre", tag("code", src), class_="code src"
        )
        body += (
            self.card_body(rec)
            if rec
            else tag("p", "Not run: an earlier step failed.", class_="notrun-msg")
        )
        return tag(
            "li",
            body,
            class_=f"step s-{status.replace(' ', '')}",
            id=f"step-{st.index}",
            tabindex=-1,
            aria_labelledby=f"step-{st.index}-h",
        )

    def card_body(self, rec: StepRecord) -> str:
        """Arguments, output, models, notes and error of a step that ran."""
        args = "".join(
            tag("dt", esc(k)) + tag("dd", self.values.html(v, rec.args))
            for k, v in rec.args.items()
        )
        parts = [
            tag(
                "section",
                tag("h4", "Arguments")
                + (tag("dl", args, class_="args") if args else tag("p", "none", class_="none")),
                class_="in",
            )
        ]
        if rec.error is None:
            parts.append(
                tag(
                    "section",
                    tag("h4", "Output") + self.values.html(rec.output, rec.args),
                    class_="out",
                )
            )
        out = tag("div", "".join(parts), class_="io")
        if rec.error is not None:
            out += _error_box(rec.error, None)
        meta = []
        if rec.models:
            meta.append(tag("p", "Model: " + ", ".join(esc(m) for m in rec.models), class_="model"))
        if rec.notes:
            meta.append(
                tag(
                    "ul",
                    "".join(tag("li", esc(n)) for n in rec.notes),
                    class_="notes",
                    aria_label="notes",
                )
            )
        return out + "".join(meta)

    def dialog(self) -> str:
        """The enlarged-image viewer (filled by the script)."""
        close = tag(
            "button", "Close", type="button", class_="close", aria_label="Close the enlarged image"
        )
        return tag(
            "dialog",
            close + tag("div", "", class_="stage"),
            id="viewer",
            aria_label="Enlarged image",
        )


def _badge(status: str) -> str:
    return tag("span", esc(status), class_=f"badge s-{status.replace(' ', '')}")


def _error_box(error: ErrorInfo, step: int | None) -> str:
    where = f" at line {error.line}" if error.line is not None else ""
    link = tag("a", esc(f"step {step + 1}"), href=f"#step-{step}") if step is not None else ""
    head = tag("p", tag("strong", esc(error.type)) + esc(where) + (f" ({link})" if link else ""))
    return tag(
        "div", head + tag("pre", esc(error.message), class_="plain"), class_="error", role="note"
    )


def render_html(
    trace: Trace, *, full_images: bool = False, max_side: int = DEFAULT_MAX_SIDE
) -> str:
    """The trace as one self-contained HTML page.

    Args:
        trace: The run (or a reloaded trace).
        full_images: Embed images at full resolution (lossless PNG) instead of thumbnails.
        max_side: Longest thumbnail side in pixels when not ``full_images``.

    Returns:
        The HTML document. It is a pure function of the arguments: the same trace gives the
        same bytes.
    """
    return Page(trace, None if full_images else max_side).html()
