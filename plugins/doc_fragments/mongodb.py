# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The option every mongodb_* module takes: URI_OPTION in plugins/module_utils/_mongo/client.py.
    DOCUMENTATION = r"""
options:
  uri:
    description:
      - MongoDB connection string (C(mongodb://) or C(mongodb+srv://)), for example the cluster's
        C(mongodb+srv://user:password@host/db) as the app's C(MONGODB_URI) config var holds it.
      - Never shown in output or error messages (nor is its password).
    type: str
    required: true
requirements:
  - pymongo
"""

    # mongodb_index and mongodb_index_info, over pymongo: twin of MONGODB_ARGUMENT_SPEC in
    # plugins/module_utils/_mongo/client.py, keep them in step.
    CONNECTION = r"""
options:
  database:
    description:
      - The database; by default the one the URI names.
    type: str
  connect_timeout:
    description:
      - Seconds to wait for the server to answer before failing.
    type: float
    default: 10
notes:
  - If O(uri) is not set, the value of the E(MONGODB_URI) environment variable is used.
  - The modules of this group can get these options once, through C(module_defaults) with
    C(group/appops.runbooks.mongodb).
"""

    # mongodb_dump and mongodb_restore, over the Database Tools: twin of TOOLS_ARGUMENT_SPEC in
    # plugins/module_utils/_mongo/tools.py, keep them in step.
    TOOLS = r"""
options:
  bin_dir:
    description: Directory of C(mongodump) and C(mongorestore) (MongoDB Database Tools 100.x); PATH when not given.
    type: path
  timeout:
    description: Seconds the tool run may take.
    type: int
    default: 3600
requirements:
  - mongodump and mongorestore (MongoDB Database Tools 100.x)
notes:
  - The tools read O(uri) from a private config file, without its database (see the description).
"""

    # mongodb_index_info and mongodb_collection_info: read-only, in the mongodb action group.
    INFO_MODULE = r"""
attributes:
  check_mode:
    support: full
    details: Read-only; runs the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: all
  action_group:
    support: full
    membership: [appops.runbooks.mongodb]
"""
