#!/usr/bin/env python3
"""Render a CSV file as an HTML table with column totals."""

import argparse
import csv
import datetime
import html
import pathlib
import sys

TEMPLATE = pathlib.Path(__file__).resolve().parent.parent / "templates" / "report.html"


def number(s: str):
    try:
        return float(s.replace(",", ""))
    except ValueError:
        return None


def render(rows: list[list[str]]) -> str:
    header, body = rows[0], rows[1:]
    totals = []
    for i in range(len(header)):
        values = [number(r[i]) for r in body if i < len(r)]
        totals.append(sum(v for v in values if v is not None) if values and all(v is not None for v in values) else None)
    out = ["<table>", "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>"]
    for r in body:
        cells = []
        for c in r:
            cls = ' class="num"' if number(c) is not None else ""
            cells.append(f"<td{cls}>{html.escape(c)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("<tr>" + "".join(f'<td class="num"><b>{t:,.2f}</b></td>' if t is not None else "<td></td>" for t in totals) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("csv", type=pathlib.Path)
    p.add_argument("--title", default="Report")
    a = p.parse_args()
    with a.csv.open(newline="", encoding="utf-8-sig") as f:
        rows = [r for r in csv.reader(f) if r]
    if len(rows) < 2:
        print("report: the CSV has no data rows", file=sys.stderr)
        return 1
    page = TEMPLATE.read_text(encoding="utf-8")
    page = page.replace("{{title}}", html.escape(a.title)).replace("{{rows}}", str(len(rows) - 1))
    page = page.replace("{{generated}}", datetime.date.today().isoformat()).replace("{{table}}", render(rows))
    sys.stdout.write(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
