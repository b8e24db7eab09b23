#!/usr/bin/env bash
# Lint every shell script under the given folders (default: the workspace) and summarise.
set -euo pipefail

command -v shellcheck >/dev/null 2>&1 || {
	echo "shell-lint: shellcheck is not installed (apt-get install shellcheck / brew install shellcheck)" >&2
	exit 127
}

out="${TMPDIR:-/tmp}/shellcheck.txt"
dirs=("$@")
[ ${#dirs[@]} -gt 0 ] || dirs=("${WORKSPACE:-.}")

files=()
while IFS= read -r -d '' f; do
	files+=("$f")
done < <(find "${dirs[@]}" -type f \( -name '*.sh' -o -name '*.bash' \) -not -path '*/node_modules/*' -print0)

if [ ${#files[@]} -eq 0 ]; then
	echo "no shell scripts found"
	exit 0
fi

status=0
shellcheck -f gcc "${files[@]}" > "$out" 2>&1 || status=$?

total=$(wc -l < "$out")
echo "${#files[@]} scripts, $total warnings (full list: $out)"
grep -oE 'SC[0-9]+' "$out" | sort | uniq -c | sort -rn | head -20 | while read -r n code; do
	printf '  %5d  %s\n' "$n" "$code"
done
exit "$status"
