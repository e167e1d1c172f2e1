# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: api_retryable
short_description: Whether a failed API module result may be retried by repeating the task
version_added: 0.1.0
description:
  - True when the result failed because the API could not be reached, answered a server error
    (5xx) or kept rate limiting (429), the failures a repeated attempt can get past.
  - False for a success and for failures the API decided on (4xx such as 404 or 422) or that came
    from the work itself (a failed build, a command that exited non-zero); repeating those changes
    nothing.
  - Meant for C(until) of tasks whose module is desired state. There a repeat re-reads the app and
    attaches to what a lost attempt started instead of starting it twice.
  - Reads and most writes are retried inside the modules by the HTTP core (options C(retries) and
    C(retry_max_wait)); use this only around a desired-state module whose write the core does not
    repeat (the vercel_* writes), where a repeat of the task re-reads and attaches.
options:
  _input:
    description: A registered module result.
    type: dict
    required: true
author:
  - appops maintainers
"""

EXAMPLES = r"""
- name: Promote, repeating the task only for what a retry can fix
  appops.runbooks.vercel_production:
    project: fixzit
    deployment: previous
  register: rollback
  until: rollback is succeeded or not (rollback | appops.runbooks.api_retryable)
  retries: 5
  delay: 2
"""

RETURN = r"""
_value:
  description: Whether to retry.
  type: bool
"""

import typing as t


def api_retryable(result: t.Any) -> bool:
    if not isinstance(result, dict) or not result.get("failed"):
        return False
    api_error = result.get("api_error")
    if not isinstance(api_error, dict):
        return False
    status = api_error.get("status")
    # No status: the connection failed or a wait timed out; both may succeed on a re-run.
    if status is None:
        return True
    try:
        code = int(status)
    except (TypeError, ValueError):
        return False
    return code == 429 or code >= 500


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"api_retryable": api_retryable}
