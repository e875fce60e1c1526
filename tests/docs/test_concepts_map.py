"""The guide points at things that exist.

docs/concepts.md maps every concept of the catalogue to the chainrule name that implements it
and to the example or test that shows it. Names are written in backticks as ``cr.xxx``,
``cr.nn.Xxx``, ``F.xxx`` (chainrule.nn.functional) or ``chainrule.xxx``; paths as
``examples/x.py``, ``tests/x/test_y.py`` or ``tests/x/test_y.py::test_name``. Every such name
must resolve in the installed package and every path (and test function) must exist, in every
page of docs/. Relative links and pictures in the pages must point at existing files.
"""

import importlib
import re
from pathlib import Path

import pytest

import chainrule

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
CONCEPTS = DOCS / "concepts.md"

NAME = re.compile(r"^(cr|F|chainrule)((?:\.[A-Za-z_]\w*)+)(?:\(\))?$")
PATH = re.compile(r"^((?:examples|tests|src|docs|benchmarks)/[\w./-]+)(?:::(\w+))?$")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
ROOTS = {"cr": "chainrule", "F": "chainrule.nn.functional", "chainrule": "chainrule"}


def code_spans(text):
    """The contents of inline code spans (`...`), fenced blocks excluded."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    return re.findall(r"`([^`\n]+)`", text)


def resolve(root, dotted):
    """The object named ``root`` + ``dotted`` (".nn.Linear").

    ``cr.`` and ``F.`` names must be reachable by attribute access alone, as a user writes them
    after ``import chainrule as cr``; full ``chainrule.`` paths may import sub-modules on the way,
    as ``from chainrule.x import y`` does.
    """
    parts = dotted.strip(".").split(".")
    obj = importlib.import_module(ROOTS[root])
    name = ROOTS[root]
    for part in parts:
        name = f"{name}.{part}"
        try:
            obj = getattr(obj, part)
        except AttributeError:
            if root != "chainrule":
                raise
            obj = importlib.import_module(name)     # a sub-module not imported by its parent
    return obj


def names_in(text):
    return sorted({(m.group(1), m.group(2)) for span in code_spans(text)
                   if (m := NAME.match(span.strip()))})


def paths_in(text):
    return sorted({(m.group(1), m.group(2)) for span in code_spans(text)
                   if (m := PATH.match(span.strip()))})


def test_the_guide_has_its_pages():
    for page in ("index.md", "concepts.md", "coming_from_pytorch.md", "coming_from_keras.md"):
        assert (DOCS / page).is_file(), page
    assert len(list((DOCS / "tutorials").glob("[0-9][0-9]-*.md"))) >= 5


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_every_name_exists(page):
    missing = []
    for root, dotted in names_in(page.read_text()):
        try:
            resolve(root, dotted)
        except (AttributeError, ImportError):
            missing.append(f"{root}{dotted}")
    assert not missing, f"{page.name} names what chainrule does not have: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_every_path_and_test_exists(page):
    missing = []
    for path, test in paths_in(page.read_text()):
        if path.startswith("examples/output/"):
            continue        # written by the examples; tests/examples/test_tutorials.py checks
        file = ROOT / path
        if not file.exists():
            missing.append(path)
        elif test and not re.search(rf"^\s*def {test}\(", file.read_text(), flags=re.M):
            missing.append(f"{path}::{test}")
    assert not missing, f"{page.name} points at files or tests that do not exist: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_relative_links_and_pictures_resolve(page):
    broken = []
    for target in LINK.findall(page.read_text()):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue
        if not (page.parent / target.split("#")[0]).resolve().exists():
            broken.append(target)
    assert not broken, f"{page.name} has broken links: {broken}"


def table_rows(text):
    """(section, cells) of every table body row, section being the current '## N.' number."""
    section, rows = None, []
    for line in text.splitlines():
        heading = re.match(r"^## (\d+)\.", line)
        if heading:
            section = int(heading.group(1))
        elif line.startswith("|") and not re.match(r"^\|[\s:|-]+\|$", line):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if cells[0] != "SPEC":          # the header row
                rows.append((section, cells))
    return rows


def test_the_map_covers_every_section_of_the_catalogue():
    text = CONCEPTS.read_text()
    rows = table_rows(text)
    assert {section for section, _ in rows} == set(range(1, 13))
    assert len(rows) >= 80


def test_every_row_names_its_code_and_where_it_is_shown_or_says_it_is_missing():
    """Columns: SPEC | concept | chainrule | formula | shown in.

    A row names its code unless the chainrule cell says "not implemented", and the example or
    test that shows it unless the last cell says "none yet".
    """
    bad = []
    for section, cells in table_rows(CONCEPTS.read_text()):
        assert len(cells) == 5, cells
        missing = "not implemented" in cells[2].lower()
        if not missing and not names_in(cells[2]) and not paths_in(cells[2]):
            bad.append(f"{section}: {cells[1]} (no chainrule name)")
        if not missing and not paths_in(cells[4]) and cells[4] != "none yet":
            bad.append(f"{section}: {cells[1]} (no example or test)")
    assert not bad, "rows without code or evidence:\n" + "\n".join(bad)


def test_the_parser_finds_names_and_paths_and_rejects_what_is_absent():
    text = ("`cr.nn.Linear`, `F.cross_entropy`, `cr.optim.lr_scheduler.StepLR()`, "
            "`examples/neuron.py`, `tests/nn/test_linear.py::test_layout_shapes_and_output`, "
            "`x = 1`")
    assert names_in(text) == [("F", ".cross_entropy"), ("cr", ".nn.Linear"),
                              ("cr", ".optim.lr_scheduler.StepLR")]
    assert len(paths_in(text)) == 2
    assert resolve("cr", ".optim.lr_scheduler.StepLR").__name__ == "StepLR"
    assert resolve("F", ".linear") is chainrule.nn.functional.linear
    with pytest.raises((AttributeError, ImportError)):
        resolve("cr", ".nn.NoSuchLayer")
    assert resolve("chainrule", ".data.sequences.sliding_windows").__name__ == "sliding_windows"
