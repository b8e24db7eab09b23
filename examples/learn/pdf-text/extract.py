"""Extract the text of every PDF under docs/ into out/NAME.txt.

A toy extractor: it keeps the strings shown with the Tj operator, which is enough for simple
one-font documents and for showing what the skill reads and writes.
"""
import os
import re
import sys

src, dst = "docs", "out"
os.makedirs(dst, exist_ok=True)
count = 0
for root, _, files in os.walk(src):
    for name in sorted(files):
        if not name.endswith(".pdf"):
            continue
        with open(os.path.join(root, name), "rb") as f:
            data = f.read()
        text = b"\n".join(re.findall(rb"\((.*?)\)\s*Tj", data)).decode("latin-1")
        with open(os.path.join(dst, name[:-4] + ".txt"), "w") as out:
            out.write(text + "\n")
        count += 1
print(f"extracted {count} documents", file=sys.stderr)
