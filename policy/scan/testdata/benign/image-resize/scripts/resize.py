#!/usr/bin/env python3
"""Write resized copies of images, keeping the aspect ratio."""

import argparse
import pathlib
import sys

from PIL import Image, ImageOps


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("images", nargs="+", type=pathlib.Path)
    p.add_argument("--max", type=int, default=1600, help="longest side in pixels")
    p.add_argument("--format", default="webp", choices=["webp", "jpeg", "png"])
    p.add_argument("--out", type=pathlib.Path, default=pathlib.Path("out"))
    a = p.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    for src in a.images:
        with Image.open(src) as im:
            im = ImageOps.exif_transpose(im)
            im.thumbnail((a.max, a.max))
            dest = a.out / (src.stem + "." + a.format)
            params = {"quality": 85} if a.format in ("webp", "jpeg") else {}
            if a.format == "jpeg" and im.mode in ("RGBA", "P"):
                im = im.convert("RGB")
            im.save(dest, a.format.upper(), **params)
            print(f"{src} -> {dest} ({im.width}x{im.height})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
