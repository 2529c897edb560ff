"""`import` between files: aliases, icn-core's flat names, cycles, the standard library."""

import pytest

from ccl.api.files import build_file
from ccl.diag import CclError
from ccl.vm.run import execute


def write(tmp_path, files):
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return str(tmp_path / "main.ccl")


def test_alias_path_and_flat_name(tmp_path):
    main = write(tmp_path, {
        "lib/helper.ccl": "const BONUS: Integer = 5;\nfn add(a: Integer, b: Integer) -> Integer { a + b + twice(0) }\n"
                          "fn twice(x: Integer) -> Integer { x * 2 }",
        "main.ccl": 'import "lib/helper.ccl" as helper;\n'
                    "fn run() -> Integer { helper::add(2, 3) + helper_add(1, 1) + helper::BONUS }",
    })
    assert execute(build_file(main, use_cache=False), "run", []).value == 12


def test_default_alias_is_the_file_name(tmp_path):
    main = write(tmp_path, {"money.ccl": "fn cents(x: Integer) -> Integer { x * 100 }",
                            "main.ccl": 'import "money";\nfn run() -> Integer { money::cents(3) }'})
    assert execute(build_file(main, use_cache=False), "run", []).value == 300


def test_import_cycle_is_named(tmp_path):
    main = write(tmp_path, {"main.ccl": 'import "a.ccl";\nfn run() -> Integer { 1 }',
                            "a.ccl": 'import "b.ccl";\nfn fa() -> Integer { 1 }',
                            "b.ccl": 'import "a.ccl";\nfn fb() -> Integer { 1 }'})
    with pytest.raises(CclError) as e:
        build_file(main, use_cache=False)
    assert e.value.diagnostic.code == "E0215"
    assert "a.ccl → " in e.value.diagnostic.message and "b.ccl" in e.value.diagnostic.message


def test_missing_import_and_missing_std_module(tmp_path):
    for target in ("nothere.ccl", "std/nothere"):
        main = write(tmp_path, {"main.ccl": f'import "{target}";\nfn run() -> Integer {{ 1 }}'})
        with pytest.raises(CclError) as e:
            build_file(main, use_cache=False)
        assert e.value.diagnostic.code == "E0214" and e.value.diagnostic.span.line == 1


def test_errors_in_imported_files_point_into_them(tmp_path):
    main = write(tmp_path, {"bad.ccl": "fn f() -> Integer {\n  nope\n}",
                            "main.ccl": 'import "bad.ccl";\nfn run() -> Integer { 1 }'})
    with pytest.raises(CclError) as e:
        build_file(main, use_cache=False)
    assert e.value.diagnostic.span.file.endswith("bad.ccl") and e.value.diagnostic.span.line == 2


def test_cache_notices_a_changed_import(tmp_path, monkeypatch):
    monkeypatch.setenv("CCL_CACHE_DIR", str(tmp_path / "cache"))
    main = write(tmp_path, {"dep.ccl": "fn k() -> Integer { 1 }", "main.ccl": 'import "dep";\nfn run() -> Integer { dep::k() }'})
    assert execute(build_file(main), "run", []).value == 1
    (tmp_path / "dep.ccl").write_text("fn k() -> Integer { 2 }")
    assert execute(build_file(main), "run", []).value == 2
