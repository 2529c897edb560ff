import os

import pytest


def pytest_addoption(parser):
    parser.addoption("--update-goldens", action="store_true", help="rewrite expected golden files")


@pytest.fixture
def update_goldens(request):
    flag = request.config.getoption("--update-goldens")
    if flag and os.environ.get("CI"):
        pytest.fail("--update-goldens is refused in CI: goldens are reviewed changes")
    return flag


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CCL_CACHE_DIR", str(tmp_path / "cache"))
