#!/usr/bin/env python3
"""List or fill the fields of a fillable PDF form."""
import argparse
import json

from pypdf import PdfReader, PdfWriter


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--list", action="store_true")
    ap.add_argument("pdf")
    ap.add_argument("values", nargs="?")
    ap.add_argument("out", nargs="?")
    args = ap.parse_args()
    reader = PdfReader(args.pdf)
    fields = reader.get_fields() or {}
    if args.list:
        for name, f in fields.items():
            print(f"{name}\t{f.get('/FT')}\t{f.get('/V')}")
        return
    with open(args.values, encoding="utf-8") as fh:
        values = json.load(fh)
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise SystemExit(f"unknown fields: {', '.join(unknown)}")
    writer = PdfWriter()
    writer.append(reader)
    for page in writer.pages:
        writer.update_page_form_field_values(page, values, auto_regenerate=False)
    with open(args.out, "wb") as fh:
        writer.write(fh)


if __name__ == "__main__":
    main()
