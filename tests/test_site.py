"""The documentation site builds with `mkdocs build --strict`, and CCL is highlighted on the
gallery pages (Pygments token classes in the HTML)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def test_site_builds_strict_and_highlights_ccl(tmp_path):
    pytest.importorskip("mkdocs")
    site = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    pages = sorted((site / "gallery").glob("*/index.html"))
    assert len(pages) >= 9
    for page in pages:
        html = page.read_text()
        blocks = re.findall(r'<div class="(?:language-ccl )?highlight"><pre>(.*?)</pre>', html, re.S)
        assert blocks, f"no CCL block on {page}"
        assert 'class="kd"' in blocks[0] and 'class="n' in blocks[0], f"CCL is not highlighted on {page}"
