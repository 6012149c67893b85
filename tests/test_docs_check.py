"""The check of the built HTML pages (docs/check_html.py, run by .ci/run)."""

import importlib.util
from pathlib import Path

import pytest

CHECKER = Path(__file__).resolve().parents[1] / "docs" / "check_html.py"


@pytest.fixture(scope="module")
def check():
    spec = importlib.util.spec_from_file_location("check_html", CHECKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_clean_pages_pass(check):
    html = ("<p>Call <code>`fit`</code> then predict.</p>"
            "<pre>x = `ls`  # in a code block\nbuild/x</pre>"
            "<p>sha256 1f2e3d4c5b6a recorded in the manifest</p>")
    assert check.problems(html) == []


@pytest.mark.parametrize("html, what", [
    ("<p>Column names (`` Usage``) in any case</p>", "a stray backtick"),
    ("<p>Measured in this session on the machine</p>", "internal language"),
    ("<p>the loop (commit 87282f7) was removed</p>", "a commit hash"),
    ("<p>run on ../shared/data/fer2013.csv.gz</p>", "the shared folder"),
    ("<p>written to /tmp/out.png</p>", "a machine path"),
    ("<div><code>/work/main</code></div>", "a machine path"),
])
def test_problems_are_found(check, html, what):
    assert {found for found, _ in check.problems(html)} == {what}


def test_the_command_fails_on_a_bad_page(check, tmp_path, capsys):
    (tmp_path / "good.html").write_text("<p>fine</p>")
    assert check.main([str(tmp_path)]) == 0
    (tmp_path / "bad.html").write_text("<p>raw `markup`</p>")
    assert check.main([str(tmp_path)]) == 1
    assert "bad.html: a stray backtick" in capsys.readouterr().out
