#!/usr/bin/env python3
"""Print the text of every page of a PDF, one page after another."""

import argparse
import sys

from pypdf import PdfReader


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("pdf", help="the PDF to read")
    parser.add_argument("--pages", help="page range, e.g. 1-3", default="")
    args = parser.parse_args()

    reader = PdfReader(args.pdf)
    first, last = 1, len(reader.pages)
    if args.pages:
        lo, _, hi = args.pages.partition("-")
        first, last = int(lo), int(hi or lo)
    for number in range(first, last + 1):
        text = reader.pages[number - 1].extract_text() or ""
        sys.stdout.write(f"--- page {number} ---\n{text}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
