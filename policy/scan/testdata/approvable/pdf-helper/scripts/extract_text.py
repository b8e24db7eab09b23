#!/usr/bin/env python3
"""Print the text of every page of a PDF, with a form feed between pages."""
import sys

from pypdf import PdfReader

reader = PdfReader(sys.argv[1])
for i, page in enumerate(reader.pages):
    if i:
        print("\f")
    print(page.extract_text() or "")
