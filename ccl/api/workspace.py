"""Temporary: the workspace lives in ccl.cli.workspace until it moves here."""
from ccl.cli.workspace import ANONYMOUS, DIR, Workspace, find, init  # noqa: F401
