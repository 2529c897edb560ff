"""Temporary: the file loader lives in ccl.cli.files until it moves here."""
from ccl.cli.files import Loader, build_file, cache_dir, data_dir, decode_source, read_source, stdlib_dir  # noqa: F401
