"""The co-op node: an HTTP API over a workspace (`ccl serve`), and its request signing."""
