# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # Twin of TOOLS_ARGUMENT_SPEC in plugins/module_utils/_mongo/tools.py: keep them in step.
    DOCUMENTATION = r"""
options:
  uri:
    description:
      - The connection string (C(mongodb://) or C(mongodb+srv://)), e.g. the app's C(MONGODB_URI). Never shown;
        the tools read it from a private config file, without its database (see the description).
    type: str
    required: true
  bin_dir:
    description: Directory of C(mongodump) and C(mongorestore) (MongoDB Database Tools 100.x); PATH when not given.
    type: path
  timeout:
    description: Seconds the tool run may take.
    type: int
    default: 3600
requirements:
  - pymongo
  - mongodump and mongorestore (MongoDB Database Tools 100.x)
"""
