"""Print the fault matrix as a table: ``python -m tests.faults.table`` (``.ci/fault-matrix.sh``).

Rows are faults, columns adapter x mode; a cell is ``recovered (N retries)``
or the error the run ended in. A cell outside what the fault allows is
marked ``!``, and the exit status is 1 if any cell is.
"""

from __future__ import annotations

import sys
import time

import anyio

from .matrix import ADAPTERS, FAULTS, KEY, Outcome, run_case, servers


async def _matrix() -> dict[tuple[str, str], Outcome]:
    cells: dict[tuple[str, str], Outcome] = {}
    with servers() as served:
        for fault in FAULTS:
            for adapter in ADAPTERS:
                for stream in (False, True):
                    column = f"{adapter.name}{' ~' if stream else ''}"
                    cells[fault.name, column] = await run_case(adapter, fault, stream, served)
    return cells


def main() -> int:
    """Run the matrix and print it; 1 when a cell is not an allowed outcome or leaks the key."""
    started = time.perf_counter()
    cells = anyio.run(_matrix)
    columns = [f"{a.name}{' ~' if s else ''}" for a in ADAPTERS for s in (False, True)]
    bad = 0
    rows: list[list[str]] = []
    for fault in FAULTS:
        row = [fault.name]
        for column in columns:
            outcome = cells[fault.name, column]
            ok = outcome.kind in fault.allowed and not any(KEY in t for t in outcome.texts)
            if outcome.kind == "recovered" and outcome.retries != fault.retries:
                ok = False
            bad += not ok
            row.append(outcome.show() + ("" if ok else " !"))
        rows.append(row)
    header = ["fault \\ adapter (~ = streaming)", *columns]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for line in [header, ["-" * w for w in widths], *rows]:
        print(" | ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)))
    seconds = time.perf_counter() - started
    print(f"\n{len(cells)} cases in {seconds:.1f} s; {bad} outside what the fault allows")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
