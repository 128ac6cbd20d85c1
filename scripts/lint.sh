#!/usr/bin/env bash
# lint.sh: the house rules a compiler does not check.
#   - C sources are clang-formatted (.clang-format);
#   - banned functions (sprintf, strcpy, strcat, strtok, atoi, atol, gets)
#     do not appear: they have no bounds or no error reporting.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
mapfile -t sources < <(git ls-files -co --exclude-standard -- '*.c' '*.h')
status=0
if command -v clang-format >/dev/null 2>&1; then
  if ! clang-format --dry-run --Werror "${sources[@]}" 2>/tmp/lint-format.$$; then
    head -n 40 /tmp/lint-format.$$
    echo "lint: run clang-format -i on the files above"
    status=1
  fi
  rm -f /tmp/lint-format.$$
else
  echo "lint: clang-format not installed; format check skipped"
fi
if grep -nE '\b(sprintf|vsprintf|strcpy|strcat|strtok|atoi|atol|gets)\s*\(' "${sources[@]}"; then
  echo "lint: banned functions used (see above)"
  status=1
fi
exit $status
