"""Security (issue 8, items 1 and 3): nothing unpickled, no input overwritten, atomic outputs."""

from __future__ import annotations

import hashlib
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

import lark
import pytest

import visprog.syntax
from visprog.cli import main
from visprog.errors import OutputError
from visprog.outputs import atomic_write
from visprog.syntax import lark_parser, parse

DEMOS = Path(__file__).resolve().parents[1] / "demos"
IMAGE = DEMOS / "images" / "astronaut.jpg"
BLUR = "B = FaceDet(image=IMAGE)\nI = Blur(image=IMAGE, object=B)\nR = Result(var=I)\n"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_parsers_are_built_without_any_disk_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Lark's cache=True pickles the tables into the shared temp folder and unpickles whatever
    # file has the expected name there: code execution for anyone who can write to /tmp.
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a parser was loaded from a pickle")

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(lark.Lark, "load", refuse)
    lark_parser.cache_clear()
    try:
        for grammar in ("visprog.lark", "expr.lark"):
            assert not lark_parser(grammar).options.cache
        parse("A = Eval(expr='1 + 2')\nR = Result(var=A)\n")
    finally:
        lark_parser.cache_clear()
    assert list(tmp_path.iterdir()) == []  # nothing written to the temp folder either


def test_a_planted_lark_cache_file_is_never_read(tmp_path: Path) -> None:
    # The real thing: a malicious pickle under every name Lark's cache could use, in a fresh
    # process whose temp folder is tmp_path. Parsing must not run it.
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Boom(str(marker)))
    for grammar in ("visprog.lark", "expr.lark"):
        for name in _lark_cache_names(grammar):
            (tmp_path / name).write_bytes(b"x\n" + payload)  # Lark unpickles line 2 first
    code = "import visprog; visprog.parse(\"A = Eval(expr='1')\\nR = Result(var=A)\")"
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)
    assert not marker.exists()


class _Boom:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, ...]]:
        return (os.system, (f"touch {self.path}",))


def _lark_cache_names(grammar: str) -> list[str]:
    """Where ``Lark(text, parser="lalr", maybe_placeholders=True, cache=True)`` looks (lark 1.x)."""
    import getpass

    from lark import __version__ as version
    from lark.load_grammar import sha256_digest

    text = visprog.syntax.load_grammar(grammar)
    options = "parserlalr" + "maybe_placeholdersTrue" + "cacheTrue"
    digest = sha256_digest(text + options + version + str(sys.version_info[:2]))
    major, minor = sys.version_info[:2]
    return [f".lark_cache_{getpass.getuser()}_{digest}_{major}_{minor}.tmp"]


# ---------------------------------------------------------------------------------------------
# Outputs never overwrite inputs or each other
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def setup(tmp_path: Path) -> dict[str, Path]:
    image = tmp_path / "in.jpg"
    image.write_bytes(IMAGE.read_bytes())
    program = tmp_path / "p.vp"
    program.write_text(BLUR)
    link = tmp_path / "hard.jpg"
    os.link(image, link)
    sym = tmp_path / "sym.jpg"
    sym.symlink_to(image)
    return {"image": image, "program": program, "hard": link, "sym": sym, "tmp": tmp_path}


@pytest.mark.parametrize(
    ("flag", "target"),
    [
        ("--out", "image"),
        ("--json", "image"),
        ("--html", "image"),
        ("--out", "program"),
        ("--json", "program"),
        ("--out", "hard"),
        ("--out", "sym"),
        ("--html", "dotdot"),
    ],
)
def test_outputs_over_inputs_are_usage_errors(
    setup: dict[str, Path], capsys: pytest.CaptureFixture[str], flag: str, target: str
) -> None:
    before = {k: _digest(p) for k, p in setup.items() if k in ("image", "program")}
    path = setup.get(target) or setup["tmp"] / "sub" / ".." / "in.jpg"
    code = main(["run", "-q", "-p", str(setup["program"]), str(setup["image"]), flag, str(path)])
    err = capsys.readouterr().err
    assert code == 2 and "would overwrite the input" in err, err
    assert {k: _digest(setup[k]) for k in before} == before


@pytest.mark.parametrize(
    "flags",
    [
        ["--json", "t.json", "--html", "t.json"],
        ["--out", "r.png", "--html", "r.png"],
        ["--json", "t.json", "--out", "t_images"],
    ],
)
def test_outputs_over_each_other_are_usage_errors(
    setup: dict[str, Path], capsys: pytest.CaptureFixture[str], flags: list[str]
) -> None:
    flags = [str(setup["tmp"] / f) if not f.startswith("--") else f for f in flags]
    code = main(["run", "-q", "-p", str(setup["program"]), str(setup["image"]), *flags])
    assert code == 2 and "would overwrite" in capsys.readouterr().err


def test_view_never_writes_over_its_trace(
    setup: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    trace = setup["tmp"] / "t.html"  # a trace named .html: the default page name is itself
    assert (
        main(["run", "-q", "-p", str(setup["program"]), str(setup["image"]), "--json", str(trace)])
        == 0
    )
    before = _digest(trace)
    assert main(["view", str(trace), "--no-open"]) == 2
    assert main(["view", str(trace), "--no-open", "--html", str(trace)]) == 2
    assert "would overwrite the input" in capsys.readouterr().err and _digest(trace) == before


@pytest.mark.parametrize(
    "where", ["/dev/full", "/proc/visprog.json", "folder", "images-taken", "fifo"]
)
def test_unwritable_outputs_are_output_errors(
    setup: dict[str, Path], capsys: pytest.CaptureFixture[str], where: str
) -> None:
    tmp = setup["tmp"]
    path = {
        "folder": str(tmp),
        "images-taken": str(tmp / "t.json"),
        "fifo": str(tmp / "f.json"),
    }.get(where, where)
    if where == "images-taken":
        (tmp / "t_images").write_text("a file where the image folder goes")
    if where == "fifo":
        os.mkfifo(path)
    if where == "/dev/full" and not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    code = main(["run", "-q", "-p", str(setup["program"]), str(setup["image"]), "--json", path])
    err = capsys.readouterr().err
    assert code == 13 and "OutputError" in err, err
    if where == "/dev/full":
        assert Path("/dev/full").is_char_device()  # never replaced by a regular file


def test_out_into_a_missing_folder_is_created_like_json(
    setup: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    tmp = setup["tmp"]
    out, js, page = tmp / "a" / "r.png", tmp / "b" / "t.json", tmp / "c" / "t.html"
    argv = ["run", "-q", "-p", str(setup["program"]), str(setup["image"])]
    assert main([*argv, "--out", str(out), "--json", str(js), "--html", str(page)]) == 0
    assert out.stat().st_size > 0 and js.stat().st_size > 0 and page.stat().st_size > 0


def test_out_needs_an_image_extension(
    setup: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "run",
        "-q",
        "-p",
        str(setup["program"]),
        str(setup["image"]),
        "--out",
        str(setup["tmp"] / "r.xyz"),
    ]
    assert main(argv) == 2 and "image extension" in capsys.readouterr().err


def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "t.json"
    target.write_text("old")

    def crash(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OutputError, match="No space left"):
        atomic_write(target, b"new")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["t.json"]


def test_the_trace_images_are_written_atomically(
    setup: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    written: list[str] = []
    real = os.replace

    def record(src: str, dst: str) -> None:
        written.append(Path(dst).name)
        real(src, dst)

    monkeypatch.setattr(os, "replace", record)
    js = setup["tmp"] / "t.json"
    assert (
        main(["run", "-q", "-p", str(setup["program"]), str(setup["image"]), "--json", str(js)])
        == 0
    )
    assert (
        written[-1] == "t.json" and all(n.endswith(".png") for n in written[:-1]) and written[:-1]
    )
    assert not list(setup["tmp"].glob("**/*.tmp"))
