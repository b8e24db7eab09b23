#!/usr/bin/env python3
"""Unpack a .docx into a folder and indent its XML parts so that diffs stay readable."""
import sys
import zipfile
from pathlib import Path
from xml.dom import minidom


def main(src: str, dest: str) -> None:
    out = Path(dest)
    out.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(src) as z:
        for info in z.infolist():
            target = (out / info.filename).resolve()
            if out.resolve() not in target.parents:
                raise SystemExit(f"refusing entry outside the folder: {info.filename}")
            data = z.read(info)
            if info.filename.endswith(".xml") or info.filename.endswith(".rels"):
                data = minidom.parseString(data).toprettyxml(indent="  ").encode()
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    print(f"unpacked {src} into {dest}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: unpack.py FILE.docx FOLDER")
    main(sys.argv[1], sys.argv[2])
