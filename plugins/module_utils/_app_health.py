# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The app_health module's logic (private): poll a health URL, classify the answers.

The module runs it on the app host; its action plugin runs it in the controller's worker when
the task's connection is local (an API platform's app, whose health URL is public), so a health
gate starts no module process there.
"""

from __future__ import annotations

import http.client
import json
import time
import typing as t
import urllib.error

from ansible.module_utils.urls import ConnectionError as UrlConnectionError
from ansible.module_utils.urls import open_url

from ansible_collections.appops.runbooks.plugins.module_utils._health import health_report
from ansible_collections.appops.runbooks.plugins.module_utils._state._journal import (JOURNAL_STEP_OPTION,
                                                                                      JournalStepFailed, record_step)

MAX_BODY_BYTES = 64 * 1024

APP_HEALTH_ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = dict(
    url=dict(type="str", required=True),
    name=dict(type="str"),
    accept=dict(type="list", elements="str", choices=["healthy", "degraded", "unhealthy"],
                default=["healthy", "degraded"]),
    timeout=dict(type="float", default=60),
    delay=dict(type="float", default=2),
    request_timeout=dict(type="float", default=5),
    degraded_ms=dict(type="float", default=100),
    unhealthy_ms=dict(type="float", default=500),
    headers=dict(type="dict", default={}),
    validate_certs=dict(type="bool", default=True),
    also_urls=dict(type="list", elements="str", default=[]),
    journal_step=JOURNAL_STEP_OPTION,
)


def decode_body(raw: bytes) -> t.Any:
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def ask(url: str, headers: dict[str, str], timeout: float, validate_certs: bool) -> tuple[int, t.Any]:
    """One GET: (status, body); (-1, error text) when nothing answered."""
    try:
        with open_url(url, headers={"Accept": "application/json", **headers}, timeout=timeout,
                      validate_certs=validate_certs) as answer:
            return answer.status, decode_body(answer.read(MAX_BODY_BYTES))
    except urllib.error.HTTPError as error:
        # 503 and friends are answers too: the body says which component is down.
        return error.code, decode_body(error.read(MAX_BODY_BYTES))
    except (urllib.error.URLError, UrlConnectionError, http.client.HTTPException, OSError, ValueError) as error:
        return -1, str(getattr(error, "reason", error))


def poll(params: dict[str, t.Any]) -> dict[str, t.Any]:
    headers = {str(key): str(value) for key, value in params["headers"].items()}
    started = time.monotonic()
    deadline = started + max(params["timeout"], 0)
    attempts = 0
    while True:
        attempts += 1
        code, body = ask(params["url"], headers, params["request_timeout"], params["validate_certs"])
        report = health_report(code, body, params["degraded_ms"], params["unhealthy_ms"])
        if report["status"] in params["accept"] or time.monotonic() + params["delay"] > deadline:
            break
        time.sleep(params["delay"])
    return {**report, "http_status": code, "body": body, "attempts": attempts,
            "elapsed": round(time.monotonic() - started, 2)}


def ask_once(params: dict[str, t.Any], url: str) -> dict[str, t.Any]:
    return poll({**params, "url": url, "timeout": 0})


def answers_of(params: dict[str, t.Any], first: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    """The first URL's answer, then one answer of each of also_urls."""
    others = [(url, ask_once(params, url)) for url in params["also_urls"]]
    return [{"url": url, **{key: answer[key] for key in ("status", "reasons", "http_status", "body")}}
            for url, answer in [(params["url"], first), *others]]


def failure_message(params: dict[str, t.Any], result: dict[str, t.Any]) -> str:
    who = params["name"] or params["url"]
    reasons = ", ".join(result["reasons"]) or "not accepted"
    body = json.dumps(result["body"])[:300]
    return (f"{who} is {result['status']} after {params['timeout']:g} s ({reasons}); "
            f"last answer: HTTP {result['http_status']} {body}")


def check_health(params: dict[str, t.Any], check_mode: bool) -> dict[str, t.Any]:
    """The module's result: changed false, the answers, and failed with msg when not accepted."""
    if params["delay"] <= 0 and params["timeout"] > 0:
        return {"failed": True, "changed": False, "msg": "delay must be above 0 when timeout is above 0"}
    journal_step = params["journal_step"]
    try:
        journal_run = record_step(journal_step, "before", check_mode)
    except JournalStepFailed as error:
        return {"failed": True, "changed": False, "msg": f"the health of {params['url']} was not asked: {error}"}
    result: dict[str, t.Any] = {"changed": False, **poll(params)}
    result["answers"] = answers_of(params, result)
    if result["status"] not in params["accept"]:
        return {**result, "failed": True, "msg": failure_message(params, result)}
    try:
        result["journal_run"] = record_step(journal_step, "after", check_mode) or journal_run
    except JournalStepFailed as error:
        return {**result, "failed": True, "msg": f"the app answered {result['status']}, but {error}"}
    return result
