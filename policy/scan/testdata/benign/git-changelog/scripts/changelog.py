#!/usr/bin/env python3
"""Group commits since a tag by conventional-commit type into a Markdown draft."""

import re
import subprocess
import sys
from collections import defaultdict

TYPES = {"feat": "Features", "fix": "Fixes", "perf": "Performance", "docs": "Documentation", "refactor": "Refactoring"}
PATTERN = re.compile(r"^(?P<type>\w+)(?:\((?P<scope>[^)]+)\))?(?P<breaking>!)?: (?P<subject>.+)$")


def git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout


def main() -> int:
    since = sys.argv[1] if len(sys.argv) > 1 else git("describe", "--tags", "--abbrev=0").strip()
    log = git("log", f"{since}..HEAD", "--pretty=format:%h%x09%s")
    groups = defaultdict(list)
    for line in log.splitlines():
        sha, _, subject = line.partition("\t")
        m = PATTERN.match(subject)
        if not m:
            groups["Other"].append(f"- {subject} ({sha})")
            continue
        title = TYPES.get(m["type"], "Other")
        scope = f"**{m['scope']}**: " if m["scope"] else ""
        mark = " (breaking)" if m["breaking"] else ""
        groups[title].append(f"- {scope}{m['subject']}{mark} ({sha})")
    with open("CHANGELOG.draft.md", "w", encoding="utf-8") as f:
        f.write(f"## Unreleased (since {since})\n\n")
        for title in list(TYPES.values()) + ["Other"]:
            if groups[title]:
                f.write(f"### {title}\n\n" + "\n".join(groups[title]) + "\n\n")
    print(f"{sum(len(v) for v in groups.values())} commits -> CHANGELOG.draft.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
