"""Imported once by the contract compiler's fork server (ccl.node.compiler): it builds the
parser and compiles a small contract, so that every child forked for an upload starts warm.
Imports ccl.pipeline."""

from ccl.pipeline import build

build("fn warm() -> Integer { 1 }", "warm.ccl")
