#!/usr/bin/env python3
"""Recalculate a workbook with LibreOffice and report the cells whose formulas end in an error."""
import subprocess
import sys
import tempfile
from pathlib import Path

from openpyxl import load_workbook

ERRORS = ("#REF!", "#DIV/0!", "#VALUE!", "#NAME?", "#N/A", "#NUM!", "#NULL!")


def recalc(path: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            ["soffice", "--headless", "--calc", "--convert-to", "xlsx", "--outdir", tmp, str(path)],
            check=True,
            timeout=240,
            capture_output=True,
        )
        path.write_bytes((Path(tmp) / path.name).read_bytes())


def errors(path: Path) -> list[str]:
    wb = load_workbook(path, data_only=True)
    found = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value in ERRORS:
                    found.append(f"{ws.title}!{cell.coordinate}: {cell.value}")
    return found


if __name__ == "__main__":
    target = Path(sys.argv[1])
    recalc(target)
    bad = errors(target)
    print("\n".join(bad) if bad else "no formula errors")
    sys.exit(1 if bad else 0)
