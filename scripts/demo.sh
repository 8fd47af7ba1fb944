#!/usr/bin/env bash
# The main job on the embedded default (SQLite): a whole campaign on a simulated clock.
# Usage: scripts/demo.sh [--year 2025] [--projects 200] [--out DIR] [--seed S] [--chaos N]
#        [--database-url URL] [--clean-database-url URL]
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
exec "${UV[@]}" run --frozen python -m simulation "$@"
