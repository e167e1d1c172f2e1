# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
name: health_checks
short_description: Judge an app by the answers of several health endpoints
version_added: 0.1.0
description:
  - Combines the results of M(appops.runbooks.app_health) run in a loop over an app's health endpoints (a
    Vercel app's C(/api/health), C(/api/health/ready), C(/api/health/db), ...) into one verdict, the worst of
    them.
  - Each loop item is a check, a dict with C(path) and optionally C(degrades) (a failing answer makes the app
    V(degraded) rather than V(unhealthy), for a component the app works without) and C(expect) (keys the JSON
    answer must have with these values, such as C(ready) V(true) for fixzit's C(/api/health/ready); a different
    answer is V(unhealthy)).
  - Or, with O(checks), the C(answers) of one M(appops.runbooks.app_health) run with C(also_urls), paired in
    order with the checks they answer.
  - Returns a dict C(status), C(reasons) (each prefixed with the path), C(http_status) and C(body) of the worst
    answer (the first one when all are healthy), and C(checks), the verdict of every path.
options:
  _input:
    description: The registered loop result of M(appops.runbooks.app_health) (its C(results)).
    type: list
    elements: dict
    required: true
  checks:
    description: The checks (dicts with C(path)) the answers of the input belong to, in the same order.
    type: list
    elements: dict
author:
  - appops maintainers (@appops)
"""

EXAMPLES = r"""
- name: Judge the app by all its endpoints
  ansible.builtin.set_fact:
    verdict: "{{ answers.results | appops.runbooks.health_checks }}"

- name: Judge the answers of one app_health run with also_urls
  ansible.builtin.set_fact:
    verdict: "{{ health.answers | appops.runbooks.health_checks(checks) }}"
"""

RETURN = r"""
_value:
  description: C(status), C(reasons), C(http_status), C(body) and C(checks) (path to status).
  type: dict
"""

import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils._health import DEGRADED, RANK, UNHEALTHY, parse_body


def judge_check(result: dict[str, t.Any]) -> dict[str, t.Any]:
    """The verdict of one endpoint: app_health's classification, then what the check adds."""
    check = result.get("item") or {}
    path = str(check.get("path", "?"))
    status = str(result.get("status") or UNHEALTHY)
    reasons = list(result.get("reasons") or ([] if result.get("status") else [result.get("msg", "no answer")]))
    body = parse_body(result.get("body"))
    for key, wanted in (check.get("expect") or {}).items():
        if body.get(key) != wanted:
            status = UNHEALTHY
            reasons.append(f"{key} is {body.get(key)!r}, not {wanted!r}")
    # A component the app works without (fixzit without its database in the lab) degrades it.
    if check.get("degrades") and status == UNHEALTHY:
        status = DEGRADED
    return {"path": path, "status": status, "reasons": [f"{path}: {reason}" for reason in reasons],
            "http_status": result.get("http_status"), "body": result.get("body")}


def health_checks(results: list[dict[str, t.Any]], checks: list[dict[str, t.Any]] | None = None) -> dict[str, t.Any]:
    if checks is not None:
        results = [{**answer, "item": check} for answer, check in zip(results, checks)]
    verdicts = [judge_check(result) for result in results if not result.get("skipped")]
    if not verdicts:
        return {"status": UNHEALTHY, "reasons": ["no health endpoint was asked"], "http_status": None, "body": None,
                "checks": {}}
    worst = max(verdicts, key=lambda verdict: RANK[verdict["status"]])
    return {"status": worst["status"], "reasons": [reason for verdict in verdicts for reason in verdict["reasons"]],
            "http_status": worst["http_status"], "body": worst["body"],
            "checks": {verdict["path"]: verdict["status"] for verdict in verdicts}}


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"health_checks": health_checks}
