"""Every bound of the language core, in one place, units last.

Imports nothing. Parser, checker, compiler, verifier and VM read their limits from here so
that a limit is changed in one place and documented in one table (docs/language.md §Limits).
"""

# Source
source_bytes_max = 64 * 1024           # per file: parse + check + compile within about 2 s, worst shape
program_source_bytes_max = 64 * 1024   # a file and everything it imports, together
                                    # (bench/frontend.py; docs/language.md §Limits)
nesting_depth_max = 128            # brackets ( [ { open at once, counted before parsing
expression_depth_max = 256         # AST depth (left-leaning operator chains count too)
import_count_max = 64

# Integers are signed 64-bit
int_min = -(2**63)
int_max = 2**63 - 1

# Execution
gas_default = 10_000_000           # finite: `while true {}` stops within a couple of seconds
gas_max = 10**15
call_depth_max = 200
array_length_max = 1_000_000
map_size_max = 1_000_000
string_length_max = 1_000_000      # code points
memory_units_max = 50_000_000      # one unit per array slot, map entry or string code point
events_per_run_max = 1_000
log_lines_per_run_max = 10_000
value_depth_max = 64               # arrays, maps, structs and variants nested inside each other
message_length_max = 1_000         # code points of an error message (longer ones are cut)

# Bytecode modules
module_bytes_max = 16 * 1024 * 1024
function_count_max = 65_536
code_length_max = 1_000_000        # instructions per function
translate_instructions_max = 10_000  # a bigger module runs on the reference interpreter: translating
                                   # costs ~11 KB and ~50 µs an instruction before any gas is charged
constant_count_max = 1_000_000
locals_per_function_max = 65_536

# Memory: every allocation is paid for in gas before it is made, so a run's peak memory (bytes
# Python allocates while it runs, above what was allocated before it started) is at most
# memory_base_bytes + memory_bytes_per_gas × gas limit (docs/language.md §Limits).
memory_base_bytes = 8 * 1024 * 1024     # measured by bench/memory.py: under 0.3 MiB of fixed cost
memory_bytes_per_gas = 64         # measured: at most 31 bytes per gas unit (an event of shared values)


def memory_bound(gas_limit: int) -> int:
    return memory_base_bytes + memory_bytes_per_gas * gas_limit
