"""`python -m ccl` — the same command line as the `ccl` script."""

from ccl.cli.main import main

main()
