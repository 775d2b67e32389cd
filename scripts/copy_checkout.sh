#!/usr/bin/env bash
# Copy the checkout's files (tracked, and untracked but not ignored) into DEST, to build a wheel from:
# building in the checkout itself would leave build/ there, and a stale build/ can carry deleted
# modules into the wheel.   bash scripts/copy_checkout.sh DEST
set -euo pipefail
checkout="$(cd "$(dirname "$0")/.." && pwd)"
destination="$1"
mkdir -p "$destination"
if git -C "$checkout" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$checkout" && git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' file; do
        if [[ -e $file ]]; then printf '%s\0' "$file"; fi  # not the tracked files deleted from the work tree
    done | xargs -0 -r cp --parents -t "$destination")
else
    cp -R "$checkout/." "$destination"
fi
