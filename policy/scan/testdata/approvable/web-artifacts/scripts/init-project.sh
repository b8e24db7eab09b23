#!/bin/bash
# Create a Vite + React + Tailwind project with the bundled UI components.
set -euo pipefail

NAME="${1:?usage: init-project.sh NAME}"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TEMPLATES="$SCRIPT_DIR/ui-templates.tar.gz"

if [ ! -f "$TEMPLATES" ]; then
  echo "error: ui-templates.tar.gz is missing next to this script" >&2
  exit 1
fi

mkdir -p "$NAME/src"
cd "$NAME"
cat > package.json <<JSON
{ "name": "$NAME", "private": true, "type": "module",
  "scripts": { "dev": "vite", "build": "vite build" } }
JSON
tar -xzf "$TEMPLATES" -C src/
echo "created $NAME; install the dependencies with your package manager, then run: npm run dev"
