#!/usr/bin/env bash
# Fails when git tracks a build or an oversized file. Builds go to bin/ (ignored); a binary in
# git bloats every clone forever and cannot be reviewed. Checks what the index holds, i.e. what
# the next commit will hold, so it also works as a pre-commit check. A few git processes in all:
# only files git itself sees as binary are opened one by one.
set -euo pipefail
cd "$(dirname "$0")/.."
max=${MAX_TRACKED_BYTES:-1048576}
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	echo "skillrun: not a git checkout, so no tracked files to check"
	exit 0
fi
declare -A text=()
while IFS= read -r -d '' p; do text[$p]=1; done < <(git grep --cached -z -I -l -e '' || true)
paths=() modes=() shas=()
while IFS= read -r -d '' rec; do
	read -r mode sha _ <<<"${rec%%$'\t'*}"
	# Symlinks and submodules hold no bytes of their own.
	[[ $mode == 100644 || $mode == 100755 ]] || continue
	paths+=("${rec#*$'\t'}") modes+=("$mode") shas+=("$sha")
done < <(git ls-files -s -z)
mapfile -t sizes < <(printf '%s\n' "${shas[@]}" | git cat-file --batch-check='%(objectsize)')
bad=0
for i in "${!paths[@]}"; do
	path=${paths[i]} mode=${modes[i]} size=${sizes[i]} why=
	if [[ -z ${text[$path]:-} && $size -gt 0 ]]; then
		magic=$({ git cat-file blob "${shas[i]}" || true; } | head -c 4 | od -An -tx1 | tr -d ' \n')
		case $magic in
		7f454c46) why="an ELF executable or object (a build)" ;;
		feedface | feedfacf | cefaedfe | cffaedfe | cafebabe) why="a Mach-O executable (a build)" ;;
		4d5a*) why="a Windows executable (a build)" ;;
		*) [[ $mode == 100755 ]] && why="an executable binary (a build)" ;;
		esac
	fi
	if [[ -z $why && $size -gt $max ]]; then
		why="$size bytes, over the bound of $max bytes (MAX_TRACKED_BYTES)"
	fi
	if [[ -n $why ]]; then
		echo "skillrun: tracked file $path is $why: untrack it with: git rm --cached -- '$path'" >&2
		bad=1
	fi
done
exit $bad
