#!/usr/bin/env python3
"""Pack a folder made by unpack.py back into a .docx, [Content_Types].xml first as Word expects."""
import sys
import zipfile
from pathlib import Path


def main(src: str, dest: str) -> None:
    root = Path(src)
    parts = sorted(p for p in root.rglob("*") if p.is_file())
    parts.sort(key=lambda p: p.name != "[Content_Types].xml")
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as z:
        for p in parts:
            z.write(p, p.relative_to(root).as_posix())
    print(f"wrote {dest} ({len(parts)} parts)")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: pack.py FOLDER FILE.docx")
    main(sys.argv[1], sys.argv[2])
