#!/usr/bin/env bash
# Stop the Atlas emulator and the lab's MongoDB clusters; their state under .lab/atlas stays.
exec bash "$(dirname "${BASH_SOURCE[0]}")/atlas.sh" down "$@"
