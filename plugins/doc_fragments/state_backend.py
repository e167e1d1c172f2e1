# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # Twin of STATE_ARGUMENT_SPEC in plugins/module_utils/_state/__init__.py: keep them in step.
    DOCUMENTATION = r"""
options:
  backend:
    description:
      - Where the state of the app lives.
      - V(local) keeps it in O(state_dir) on the host the module runs on (the compose host for
        compose apps).
      - V(postgres) keeps it in the PostgreSQL database given by O(dsn), shared by every
        controller (AWX jobs in their own containers, CI runners); run the module on the
        controller (delegated to C(localhost)). Tables are created on first use.
    type: str
    choices: [local, postgres]
    default: local
  dsn:
    description:
      - libpq connection string or URL of the state database, for O(backend=postgres).
      - If not set, the value of the E(APPOPS_STATE_DSN) environment variable is used.
      - Never shown in output or error messages.
    type: str
  state_dir:
    description:
      - The app's state folder, for O(backend=local). Created (mode 0700) when missing.
    type: path
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
requirements:
  - psycopg2 (for O(backend=postgres), on the host running the module)
"""
