#!/usr/bin/env python3
"""Send a scanned PDF to the OCR service and save the recognised text as JSON."""

import argparse
import json
import os
import pathlib
import sys
import time

import requests

API = "https://api.example.com/v1/ocr"
TIMEOUT = 60


def ocr(path: pathlib.Path, key: str) -> dict:
    headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
    for attempt in range(3):
        with path.open("rb") as f:
            resp = requests.post(API, headers=headers, files={"file": (path.name, f, "application/pdf")}, timeout=TIMEOUT)
        if resp.status_code == 429:
            time.sleep(2 ** attempt)
            continue
        resp.raise_for_status()
        return resp.json()
    raise RuntimeError("the OCR service kept asking us to slow down")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("pdf", type=pathlib.Path)
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("out/ocr.json"))
    args = parser.parse_args()

    key = os.environ.get("EXAMPLE_API_KEY")
    if not key:
        print("EXAMPLE_API_KEY is not set; ask the developer to grant it", file=sys.stderr)
        return 2
    result = ocr(args.pdf, key)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
    print(f"wrote {args.out} ({len(result.get('pages', []))} pages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
