#!/bin/sh
# A build step that needs a module already in the Go module cache, offline.
set -eu
mod="$HOME/go/pkg/mod/example.com/greet@v1.0.0"
mkdir -p build
cat "$mod/greet.txt" src/*.txt > build/app.txt
echo "built build/app.txt" >&2
