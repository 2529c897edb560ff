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


@pytest.fixture(scope="session")
def pg_server():
    from pg import Server, binaries

    if binaries() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must test against PostgreSQL: .ci/run installs it")
        pytest.skip("PostgreSQL is not installed here")
    server = Server()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    """The same test against the SQLite store and against a real PostgreSQL server."""
    if request.param == "sqlite":
        from ccl.store.sqlite import SqliteStore

        s = SqliteStore(str(tmp_path / "state.db"))
    else:
        from ccl.store.postgres import PostgresStore

        s = PostgresStore(request.getfixturevalue("pg_server").new_database())
    yield s
    s.close()
