#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: app_health
short_description: Wait until an app's health endpoint answers healthy, and classify the answer
version_added: 0.1.0
description:
  - Polls O(url) from the app host until the answer is one of O(accept) or O(timeout) seconds
    have passed, then reports the last answer classified as V(healthy), V(degraded) or V(unhealthy).
  - The classification is the one of the P(appops.runbooks.health_status#filter) filter, the
    thresholds of the MicMap runbook; 200 is healthy, 207 degraded, 503 (any other code, or no
    answer) unhealthy, and the body (top-level C(status), database and cache components, database
    latency) can only make it worse.
  - All polling happens inside one module run, so a gate that waits for a restarting app costs
    one run, not one per attempt.
  - With O(also_urls), those URLs are then asked once each in the same run (an app with several health
    endpoints costs one module run, not one per endpoint); every answer is in RV(answers), for the
    P(appops.runbooks.health_checks#filter) filter.
  - Fails, with the last answer in the message, when the app is not in O(accept) by the deadline.
  - On a local connection (an API platform's app, whose tasks run on the controller) the polling runs
    in the controller's worker process and no module process is started; on any other connection
    (a compose host over SSH, where the URL may be the host's own C(localhost)) the module runs there.
author:
  - appops maintainers (@appops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - appops.runbooks.journal_step
options:
  url:
    description: The health URL, as the app host reaches it.
    type: str
    required: true
  name:
    description: The app's name, for messages.
    type: str
  accept:
    description: Classifications that pass.
    type: list
    elements: str
    choices: [healthy, degraded, unhealthy]
    default: [healthy, degraded]
  timeout:
    description: Seconds to keep polling. V(0) asks once.
    type: float
    default: 60
  delay:
    description: Seconds between two polls.
    type: float
    default: 2
  request_timeout:
    description: Seconds one request may take.
    type: float
    default: 5
  degraded_ms:
    description: Database latency (ms) from which the app counts as degraded.
    type: float
    default: 100
  unhealthy_ms:
    description: Database latency (ms) above which the app counts as unhealthy.
    type: float
    default: 500
  headers:
    description: Extra request headers.
    type: dict
    default: {}
  validate_certs:
    description: Verify the server's TLS certificate.
    type: bool
    default: true
  also_urls:
    description:
      - More health URLs of the same app, asked once each after O(url) has answered (or the wait ran out).
      - Only O(url) decides whether the module fails; judge all of them with the
        P(appops.runbooks.health_checks#filter) filter on RV(answers).
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
    details: Reads only; it polls in check mode too.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Requests go through Ansible's C(open_url), which honours the usual proxy environment variables.
seealso:
  - plugin: appops.runbooks.health_status
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Health gate after a deploy
  appops.runbooks.app_health:
    url: http://127.0.0.1:8000/health
    name: coffee-tracker
    timeout: 90
  register: health

- name: Ask once, accept anything, look at the classification
  appops.runbooks.app_health:
    url: https://api.example.com/health
    timeout: 0
    accept: [healthy, degraded, unhealthy]
  register: health

- name: Poll the first endpoint, ask the others once, judge them together
  appops.runbooks.app_health:
    url: https://mysetlist-sonnet.vercel.app/api/health
    also_urls:
      - https://mysetlist-sonnet.vercel.app/api/health/db
  register: health
  failed_when: false
"""

RETURN = r"""
journal_run:
  description:
    - With O(journal_step), the run's journal record after the last step recorded (O(journal_step.then) once
      the answer was accepted); null without it or in check mode.
  returned: when the answer was accepted
  type: dict
status:
  description: V(healthy), V(degraded) or V(unhealthy), of the last answer.
  returned: always
  type: str
  sample: healthy
reasons:
  description: Why the answer is not healthy (empty when healthy).
  returned: always
  type: list
  elements: str
  sample: ["redis is unhealthy"]
http_status:
  description: HTTP status of the last answer, -1 when there was none.
  returned: always
  type: int
  sample: 200
body:
  description: Last answer's body, parsed when it is JSON, else its text (or the connection error).
  returned: always
  type: raw
  sample: {"status": "alive", "database": {"status": "healthy"}, "redis": {"status": "healthy"}}
attempts:
  description: Requests made.
  returned: always
  type: int
elapsed:
  description: Seconds spent polling.
  returned: always
  type: float
answers:
  description:
    - One answer per URL, O(url) first then O(also_urls) in order, each with C(url), C(status), C(reasons),
      C(http_status) and C(body) as above.
  returned: always
  type: list
  elements: dict
  sample: [{url: https://mysetlist-sonnet.vercel.app/api/health, status: healthy, reasons: [], http_status: 200,
            body: {status: ok}}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.appops.runbooks.plugins.module_utils._app_health import APP_HEALTH_ARGUMENT_SPEC, check_health


def main() -> None:
    module = AnsibleModule(argument_spec=APP_HEALTH_ARGUMENT_SPEC, supports_check_mode=True)
    result = check_health(module.params, module.check_mode)
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
