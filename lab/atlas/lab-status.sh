#!/usr/bin/env bash
# Exit 0 when the Atlas emulator and every emulated cluster answer on 127.0.0.1.
exec bash "$(dirname "${BASH_SOURCE[0]}")/atlas.sh" status "$@"
