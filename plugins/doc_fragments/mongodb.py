# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # Twin of MONGODB_ARGUMENT_SPEC in plugins/module_utils/_mongodb.py: keep them in step.
    DOCUMENTATION = r"""
options:
  uri:
    description:
      - MongoDB connection string, for example the cluster's C(mongodb+srv://user:password@host/db) as the app's
        C(MONGODB_URI) config var holds it.
      - If not set, the value of the E(MONGODB_URI) environment variable is used.
      - Never shown in output or error messages (nor is its password).
    type: str
    required: true
  database:
    description:
      - The database; by default the one the URI names.
    type: str
  connect_timeout:
    description:
      - Seconds to wait for the server to answer before failing.
    type: float
    default: 10
requirements:
  - pymongo
notes:
  - The modules of this group can get these options once, through C(module_defaults) with
    C(group/appops.runbooks.mongodb).
"""
