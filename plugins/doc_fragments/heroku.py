# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # Twin of HEROKU_ARGUMENT_SPEC in plugins/module_utils/_heroku/client.py: keep them in step.
    DOCUMENTATION = r"""
options:
  api_key:
    description:
      - Heroku API token (OAuth token or API key), sent as a Bearer token.
      - If not set, the value of the E(HEROKU_API_KEY) environment variable is used.
      - Never shown in output or error messages.
    type: str
    required: true
  api_url:
    description:
      - Base URL of the Heroku Platform API.
      - If not set, E(HEROKU_API_URL) or else E(HEROKU_HOST) is used; a bare domain such as V(heroku.com)
        becomes V(https://api.heroku.com), like the Heroku CLI does.
    type: str
    default: https://api.heroku.com
  data_api_url:
    description:
      - Base URL of the Heroku Postgres data API (backups, restores, schedules).
      - If not set, the value of the E(HEROKU_DATA_API_URL) environment variable is used.
    type: str
    default: https://api.data.heroku.com
  validate_certs:
    description:
      - Whether to verify TLS certificates of the API endpoints.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for an API response before the request counts as failed.
      - Requests that time out are retried as O(retries) and O(retry_max_wait) say.
    type: float
    default: 30
requirements:
  - requests
notes:
  - All modules of this group can get these options once, through
    C(module_defaults) with C(group/appops.runbooks.heroku).
  - Requests that are safe to repeat are retried on server errors and connection errors with jittered
    exponential backoff; every request is retried on HTTP 429, honouring C(Retry-After) (see O(retries) and
    O(retry_max_wait)). A plain C(http://) API URL is refused unless its host is loopback. When the
    C(RateLimit-Remaining) header runs low, requests are slowed down before the limit is reached.
"""

    WAIT = r"""
options:
  wait:
    description:
      - Whether to wait until the started work finishes.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait before giving up; the failure carries the last state seen.
    type: float
    default: 600
  poll_interval:
    description:
      - Seconds between two status checks while waiting.
    type: float
    default: 3
"""

    # The attributes every read-only _info module shares.
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
    membership: [appops.runbooks.heroku]
"""

    # The attributes every module that changes things shares. A module overrides single keys by
    # setting them in its own attributes (for example diff_mode support or check_mode details).
    # List it before ansible.builtin.action_common_attributes: a key set by the module or an earlier
    # fragment wins over a later fragment, and ACTIONGROUPS sets action_group to no membership.
    WRITE_MODULE = r"""
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: all
  action_group:
    support: full
    membership: [appops.runbooks.heroku]
"""
