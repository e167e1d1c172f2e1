# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # Twin of RETRY_ARGUMENT_SPEC in plugins/module_utils/_module.py: keep them in step.
    DOCUMENTATION = r"""
options:
  retries:
    description:
      - How many times at least a request that failed in a way a repeat can get past is sent again (HTTP 429, and
        for requests that are safe to repeat also server errors (5xx), timeouts and broken connections).
      - A request that starts a job (a backup, a restore, a build, a one-off dyno, a rollback) is sent again only
        after the module looked for the job the lost request may have started, and found none.
      - Failures the API decided on (4xx such as 404 or 422) and failures of the work itself are never retried.
      - If not set, the value of the E(APPOPS_API_RETRIES) environment variable is used.
    type: int
    default: 6
  retry_max_wait:
    description:
      - The time budget of one request's retries, in seconds from its first attempt. Retries go on until it is
        spent, however many O(retries) that takes, so that a burst of 429 answers or an outage of the API
        shorter than this is outlasted.
      - The waits between attempts follow C(Retry-After) when the API sends it (a C(Retry-After) that would end
        after the budget fails the request at once); otherwise they grow with jittered exponential backoff, at
        least 1 s after a 429 (Heroku refills its request tokens at 75 a minute).
      - Set it to how long an outage the task must survive; V(0) stops after O(retries).
      - If not set, the value of the E(APPOPS_API_RETRY_MAX_WAIT) environment variable is used.
    type: float
    default: 30
"""

    # Modules that switch maintenance: list it before appops.runbooks.api_retry (the first wins).
    # Twin of MAINTENANCE_RETRY_MAX_WAIT in plugins/module_utils/_heroku/module.py.
    MAINTENANCE = r"""
options:
  retry_max_wait:
    description:
      - The time budget of one request's retries, in seconds from its first attempt, so that an outage of the API
        shorter than this is outlasted.
      - Longer than for other modules, because putting maintenance back after a failed restore or deploy must
        outlast a longer outage of the API.
      - If not set, the value of the E(APPOPS_API_RETRY_MAX_WAIT) environment variable is used.
    type: float
    default: 60
"""
