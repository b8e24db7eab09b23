#!/bin/bash
# Bundle the project in the current folder into a single bundle.html.
set -euo pipefail
npx vite build --outDir dist
npx html-inline -i dist/index.html -o bundle.html
echo "wrote bundle.html ($(wc -c < bundle.html) bytes)"
