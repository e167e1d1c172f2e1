# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # Twin of VERCEL_ARGUMENT_SPEC in plugins/module_utils/_vercel/client.py: keep them in step.
    DOCUMENTATION = r"""
options:
  token:
    description:
      - Vercel access token, sent as a Bearer token.
      - If not set, the value of the E(VERCEL_TOKEN) environment variable is used.
      - Never shown in output or error messages.
    type: str
    required: true
  team_id:
    description:
      - The team that owns the project (its id, V(team_...), or its slug), sent as C(teamId) on every request.
      - If not set, E(VERCEL_ORG_ID) (what the Vercel CLI reads) or else E(VERCEL_TEAM_ID) is used; without any,
        requests run in the token's default scope.
    type: str
  api_url:
    description:
      - Base URL of the Vercel REST API.
      - If not set, the value of the E(VERCEL_API_URL) environment variable is used.
    type: str
    default: https://api.vercel.com
  validate_certs:
    description:
      - Whether to verify the TLS certificate of the API endpoint.
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
    C(module_defaults) with C(group/appops.runbooks.vercel).
  - Requests that are safe to repeat are retried on server errors and connection errors with jittered
    exponential backoff; every request is retried on HTTP 429, honouring C(Retry-After) (see O(retries) and
    O(retry_max_wait)). A plain C(http://) API URL is refused unless its host is loopback. When the
    C(X-RateLimit-Remaining) header runs low, requests are slowed down before the limit is reached.
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
    default: 900
  poll_interval:
    description:
      - Seconds between two status checks while waiting. The first check comes after 0.5 s, each
        next one twice as late, up to this interval.
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
    membership: [appops.runbooks.vercel]
"""

    # The attributes every module that changes things shares (list it before the builtin fragments).
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
    membership: [appops.runbooks.vercel]
"""
