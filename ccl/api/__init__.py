"""What both edges need, below them: the layer between the engines and runtime and the edges.

The command line (ccl.cli) and the node (ccl.node) are edges: they parse input, call down and
render output, and neither imports the other. Anything both need lives here — reading sources and
the compiled-module cache (`files`), workspaces on disk (`workspace`), moving a store to
PostgreSQL (`migrate`), member analytics (`analytics`). Imports the runtime, the engines and the
core; never an edge.
"""
