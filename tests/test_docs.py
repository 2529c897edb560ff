"""Every CCL example in docs/ compiles; those ending in `// result:` or `// error:` run as stated.
The generated reference pages match the tables they come from."""

import json
import re
from pathlib import Path

import pytest

from ccl import docgen
from ccl.diag import CclError
from ccl.pipeline import build
from helpers import run_both

DOCS = Path(__file__).parent.parent / "docs"
README = Path(__file__).parent.parent / "README.md"


def examples():
    for page in [README, *sorted(DOCS.rglob("*.md"))]:
        text = page.read_text()
        for m in re.finditer(r"```ccl\n(.*?)```", text, re.S):
            line = text[: m.start()].count("\n") + 2
            yield pytest.param(m.group(1), id=f"{page.name}:{line}")


@pytest.mark.parametrize("source", list(examples()))
def test_doc_example(source):
    if source.startswith('import "../'):
        pytest.skip("a template's test suite, shown in the gallery; run by tests/test_ccl_tests.py")
    expected = re.search(r"^// (result|error): (.*)$", source, re.M)
    if expected is None:
        build(source, "example.ccl")
        return
    kind, want = expected.groups()
    try:
        r = run_both(source)
    except CclError as e:
        assert kind == "error" and e.diagnostic.code == want.strip(), e.diagnostic
        return
    if kind == "result":
        assert r.ok, r.error
        assert r.value == json.loads(want)
    else:
        assert not r.ok and r.error.code == want.strip(), r.value


GENERATED = docgen.all_pages()


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_reference_is_current(name):
    path = DOCS / name
    assert path.read_text() == GENERATED[name], "regenerate with: python -m ccl.docgen"


def shown(stdout: str) -> str:
    """A command's output as a page can show it: a receipt's CID depends on the keys made on the
    reader's machine, so a page writes `receipt bafy…` for it."""
    return re.sub(r"receipt bafy…\w+$", "receipt bafy…", stdout.strip(), flags=re.M)


def run_console(session: str, cwd: Path) -> dict:
    """Run a ```console session of `$ ccl …` lines; `# exit N` and `# prints: X` check the line
    before them (X is the whole output, its receipt written `receipt bafy…`)."""
    import os
    import shlex

    from click.testing import CliRunner

    from ccl.cli.main import cli

    old = os.getcwd()
    os.chdir(cwd)
    outputs = {}
    try:
        lines = session.splitlines()
        for i, line in enumerate(lines):
            if line.startswith("$ cd "):
                os.chdir(line[len("$ cd "):].strip())
                continue
            assert not line.startswith("$ ") or line.startswith("$ ccl "), ("only ccl and cd run here", line)
            if not line.startswith("$ ccl "):
                continue
            notes = []
            for follow in lines[i + 1:]:
                if not follow.startswith("#"):
                    break
                notes.append(follow)
            expected = 0
            for note in notes:
                if m := re.match(r"# exit (\d+)", note):
                    expected = int(m.group(1))
            r = CliRunner().invoke(cli, shlex.split(line[len("$ ccl "):]), catch_exceptions=False)
            assert r.exit_code == expected, (line, r.output)
            for note in notes:
                if note.startswith("# prints: "):
                    assert shown(r.stdout) == note[len("# prints: "):], (line, r.stdout)
            outputs[line] = r.stdout
    finally:
        os.chdir(old)
    return outputs


@pytest.mark.parametrize("page", sorted((DOCS / "engines").glob("*.md")), ids=lambda p: p.stem)
def test_engine_pages(page, tmp_path):
    """Each engine page's console session exactly as written, from an empty folder: it founds
    its co-op first, and the only thing written before it runs is the bylaw file the page shows
    ("with `FILE`:" and a ```ccl block)."""
    import shlex

    text = page.read_text()
    session = re.search(r"```console\n(.*?)```", text, re.S).group(1)
    first = session.splitlines()[0]
    assert first.startswith("$ ccl init --founder ") and "--demo" in first, "the session founds its co-op first"
    args = shlex.split(first)
    wanted = [args[i + 1] for i, a in enumerate(args) if a == "--bylaws"]
    shown = dict(re.findall(r"with `([\w.-]+\.ccl)`:\n\n```ccl\n(.*?)```", text, re.S))
    assert wanted and set(wanted) <= set(shown), f"the page shows the bylaws it founds with ({wanted})"
    assert not any(tmp_path.iterdir())
    for name in wanted:
        (tmp_path / name).write_text(shown[name])
    run_console(session, tmp_path)


def test_workspace_walkthrough(tmp_path):
    """docs/workspace.md's console session, command by command, from an empty folder."""
    text = (DOCS / "workspace.md").read_text()
    session = re.search(r"```console\n(.*?)```", text, re.S).group(1)
    outputs = run_console(session, tmp_path)
    log = outputs["$ ccl dag log"]
    rows = [line.split() for line in log.splitlines() if re.match(r"\d+ +\d{4}-\d\d-\d\dT", line)]
    assert len(rows) == 6 and rows[-1][3] == "genesis"                  # the founding and five receipts
    assert {r[2] for r in rows} == {"co-op", "ana", "bo"}               # who acted, by name


def test_stewards_page(tmp_path):
    """docs/stewards.md's console sessions, each exactly as written from an empty folder (backup,
    restore, and a CAR export imported into a new workspace, each verified)."""
    text = (DOCS / "stewards.md").read_text()
    sessions = re.findall(r"```console\n(.*?)```", text, re.S)
    assert sessions
    for i, session in enumerate(sessions):
        folder = tmp_path / str(i)
        folder.mkdir()
        outputs = run_console(session, folder)
        verified = [v for k, v in outputs.items() if k == "$ ccl dag verify"]
        assert all(v.startswith("ok: ") for v in verified)


def test_governance_walkthrough(tmp_path):
    """docs/governance.md's console session, with its bylaw written out first."""
    text = (DOCS / "governance.md").read_text()
    bylaw = re.search(r"with `credit_union.ccl`:\n\n```ccl\n(.*?)```", text, re.S).group(1)
    (tmp_path / "credit_union.ccl").write_text(bylaw)
    session = re.search(r"```console\n(.*?)```", text, re.S).group(1)
    run_console(session, tmp_path)


def test_node_guide_python_example(tmp_path, monkeypatch):
    """docs/node.md's client example, against a real `ccl serve`."""
    from click.testing import CliRunner

    from ccl.cli.main import cli
    from helpers import running_node

    from ccl.identity import Identity

    monkeypatch.chdir(tmp_path)
    ana = Identity.from_seed("ana", b"\x01" * 32).did
    assert CliRunner().invoke(cli, ["init", "--founder", ana]).exit_code == 0        # as the guide says
    code = re.search(r"```python\n(.*?)```", (DOCS / "node.md").read_text(), re.S).group(1)
    with running_node(tmp_path) as url:
        exec(compile(code, "node.md", "exec"), {"NODE_URL": url})
