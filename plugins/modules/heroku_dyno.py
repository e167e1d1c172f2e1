#!/usr/bin/python
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: heroku_dyno
short_description: Restart Heroku dynos or run a one-off command in a dyno
version_added: 0.1.0
description:
  - O(state=restarted) restarts every dyno of the app (C(heroku restart)), the dynos of one process type
    (O(type)) or one dyno (O(dyno)).
  - O(state=run) runs O(command) in a one-off dyno (C(heroku run --exit-code)), for example database
    migrations. The command is wrapped the way the Heroku CLI does so that its exit status is printed to
    the log stream; the module reads the dyno's output through a log session and fails when the
    command exits non-zero.
  - O(state=run) attaches to a one-off dyno of this app that is still running the very same command
    (started by an earlier run that lost its answer, or by a re-run while the first is in flight)
    instead of starting another one, and then reports no change.
  - When the answer to the request that starts the dyno is lost, the module looks for the dyno running the
    command before it sends the request again. A command that already ended by then cannot be found.
  - Once its dyno is running, O(state=run) keeps trying to open the dyno's log session through
    rate limits and server errors until O(wait_timeout), because failing then would lead a re-run
    to start the command a second time. A failure after the dyno started returns RV(dyno).
  - Restarts are actions, not states, so they always report a change; in check mode nothing is sent.
options:
  app:
    description:
      - Name or id of the app.
    type: str
    required: true
  state:
    description:
      - V(restarted) restarts dynos, V(run) runs O(command) in a one-off dyno.
    type: str
    required: true
    choices: [restarted, run]
  type:
    description:
      - With O(state=restarted), restart only the dynos of this process type (for example V(web)).
    type: str
  dyno:
    description:
      - With O(state=restarted), restart only this dyno (for example V(web.1)).
    type: str
  command:
    description:
      - With O(state=run), the shell command to run, for example V(rails db:migrate).
    type: str
  size:
    description:
      - With O(state=run), the dyno size of the one-off dyno. Defaults to the app's default.
    type: str
  env:
    description:
      - With O(state=run), extra environment variables for the one-off dyno only.
    type: dict
  time_to_live:
    description:
      - With O(state=run), seconds after which Heroku stops the dyno (at most 86400).
    type: int
extends_documentation_fragment:
  - appops.runbooks.heroku
  - appops.runbooks.api_retry
  - appops.runbooks.heroku.WAIT
  - appops.runbooks.heroku.WRITE_MODULE
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
attributes:
  check_mode:
    details: Nothing is sent; the result says what would run.
  diff_mode:
    support: none
notes:
  - With O(state=run) and O(wait=false) the dyno is started detached (C(heroku run:detached)) and the
    module returns at once without output or exit status.
  - O(wait_timeout) bounds the whole run; the dyno keeps running on Heroku when the module gives up.
  - When the command ends the shell itself (for example with C(exit 3)) the wrapper's echo never runs;
    the exit status is then taken from the platform's C(Process exited with status N) log line.
seealso:
  - module: appops.runbooks.heroku_formation_info
author:
  - appops maintainers (@appops)
"""

EXAMPLES = r"""
- name: Run the migrations after a deploy (heroku run rails db:migrate)
  appops.runbooks.heroku_dyno:
    app: sc-mvp-production
    state: run
    command: rails db:migrate
    wait_timeout: 900

- name: Force the web dynos to reconnect to the database (heroku restart)
  appops.runbooks.heroku_dyno:
    app: micmap-api
    state: restarted
    type: web
"""

RETURN = r"""
dyno:
  description: The one-off dyno as created, or the one attached to; also returned by a failure after it started.
  returned: when O(state=run) and not in check mode
  type: dict
  sample: {name: run.4821, state: starting, type: run}
rc:
  description: Exit status of the command.
  returned: when O(state=run) and O(wait=true) and not in check mode
  type: int
  sample: 0
stdout:
  description: Output of the command (the dyno's log lines, without the exit-status marker).
  returned: when O(state=run) and O(wait=true) and not in check mode
  type: str
stdout_lines:
  description: RV(stdout) split into lines.
  returned: when O(state=run) and O(wait=true) and not in check mode
  type: list
  elements: str
restarted:
  description: What was (or in check mode would be) restarted, for example V(all dynos), V(web dynos) or V(web.1).
  returned: when O(state=restarted)
  type: str
  sample: web dynos
attached:
  description: Whether the module attached to a one-off dyno already running the command instead of starting one.
  returned: when O(state=run)
  type: bool
  sample: false
command:
  description: The command as given (without the exit-status wrapper).
  returned: when O(state=run)
  type: str
  sample: rails db:migrate
dynos:
  description: The app's dynos after the restart.
  returned: when O(state=restarted) and not in check mode
  type: list
  elements: dict
"""

import dataclasses
import re
import time
import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils._heroku.client import (
    EXIT_STATUS_MARKER,
    WAIT_ARGUMENT_SPEC,
)
from ansible_collections.appops.runbooks.plugins.module_utils._heroku.module import HerokuModule
from ansible_collections.appops.runbooks.plugins.module_utils._http import ApiConnectionError, ApiError, WaitTimeout

# "2025-11-03T10:00:00.123456+00:00 app[run.1234]: message"
LOG_LINE = re.compile(r"^\S+\s+(?P<source>[\w-]+)\[(?P<process>[^\]]+)\]:\s?(?P<message>.*)$")
EXIT_STATUS = re.compile("\uFFFF?\\s*heroku-command-exit-status:\\s*(\\d+)")
PROCESS_EXITED = re.compile(r"^Process exited with status (\d+)")
# States of a one-off dyno that has not finished yet.
RUNNING_STATES = ("starting", "up")


def wrapped(command: str) -> str:
    """Append the exit-status echo, exactly like ``heroku run --exit-code``."""
    return f'{command}; echo "{EXIT_STATUS_MARKER} $?"'


def classify(line: str, dyno_name: str) -> tuple[str, str | None]:
    """("output", text) for the command's own lines, ("status", n) for the platform's exit report.

    Lines from other sources (router, other dynos) give ("other", None). Lines without the
    Logplex prefix are taken as output.
    """
    match = LOG_LINE.match(line)
    if not match:
        return "output", line
    if match.group("process") != dyno_name:
        return "other", None
    if match.group("source") == "app":
        return "output", match.group("message")
    exited = PROCESS_EXITED.match(match.group("message"))
    return ("status", exited.group(1)) if exited else ("other", None)


def read_output(hm: HerokuModule, logplex_url: str, dyno_name: str, deadline: float) -> tuple[list[str], int | None]:
    """Lines printed by the dyno, and its exit status.

    The status comes from the marker the wrapper echoes; when the command ends the shell itself
    (``exit 3``) the marker never prints, and the platform's "Process exited with status N" line
    gives it instead.
    """
    lines: list[str] = []
    read_timeout = max(1.0, deadline - time.monotonic())
    try:
        for raw in hm.client.platform.stream_lines(logplex_url, read_timeout=read_timeout):
            status = take_line(raw, dyno_name, lines)
            if status is not None:
                return lines, status
            if time.monotonic() > deadline:
                break
    except ApiConnectionError:
        # A silent command outlasting wait_timeout ends in a read timeout: report it as the timeout.
        if time.monotonic() < deadline - 0.5:
            raise
    return lines, None


def take_line(raw: str, dyno_name: str, lines: list[str]) -> int | None:
    """Add the command's text of one log line to ``lines``; return the exit status once known."""
    kind, text = classify(raw, dyno_name)
    if kind == "status":
        return int(text)
    if kind != "output":
        return None
    marker = EXIT_STATUS.search(text)
    if not marker:
        lines.append(text)
        return None
    before_marker = text[:marker.start()].rstrip()
    if before_marker:
        lines.append(before_marker)
    return int(marker.group(1))


def in_flight_dyno(hm: HerokuModule, command: str) -> dict[str, t.Any] | None:
    """The app's one-off dyno still running exactly this (wrapped) command, if any.

    Only this module's wrapper produces that command line, so a dyno someone started by hand
    with ``heroku run`` never matches.
    """
    for dyno in hm.client.dynos(hm.app):
        if dyno.get("type") == "run" and dyno.get("command") == command and dyno.get("state") in RUNNING_STATES:
            return dyno
    return None


def open_log_session(hm: HerokuModule, dyno_name: str, deadline: float) -> dict[str, t.Any]:
    """The dyno's log session, asked for through rate limits and server errors until the deadline.

    The module's retry options alone may run out during a burst of 429s or 5xx answers; giving up
    then would fail a command that is running, and a re-run would start it once more. So the
    outage window of this one request is the time left to wait for the command.
    """
    retry = dataclasses.replace(hm.retry, max_wait=max(0.0, deadline - time.monotonic()))
    return hm.client.create_log_session(hm.app, dyno_name, retry=retry)


def run_command(hm: HerokuModule) -> None:
    p = hm.params
    if not p["command"]:
        hm.fail("state=run needs a command")
    body: dict[str, t.Any] = {"command": wrapped(p["command"]), "attach": False, "type": "run"}
    for key in ("size", "env", "time_to_live"):
        if p[key] is not None:
            body[key] = p[key]
    hm.doing("looking for a one-off dyno already running the command")
    started = hm.start(
        f"starting a one-off dyno for {p['command']!r}",
        find_running=lambda: in_flight_dyno(hm, body["command"]),
        create=lambda: hm.client.create_dyno(hm.app, body),
    )
    if started is None or hm.check_mode:
        hm.exit(started is None, command=p["command"], attached=started is not None)
    dyno = started.job
    # A dyno is running from here on: every failure returns it, so a retry does not start another.
    result = dict(changed=started.started_here, dyno=dyno, attached=not started.started_here, command=p["command"])
    if not p["wait"]:
        hm.exit(**result)
    deadline = time.monotonic() + p["wait_timeout"]
    try:
        hm.doing(f"reading the output of {dyno['name']}")
        session = open_log_session(hm, dyno["name"], deadline)
        lines, rc = read_output(hm, session["logplex_url"], dyno["name"], deadline)
    except ApiError as error:
        hm.fail_api(error, **result)
    result.update(rc=rc, stdout="\n".join(lines), stdout_lines=lines)
    if rc is None:
        if time.monotonic() > deadline:
            hm.fail_api(WaitTimeout(f"timed out after {p['wait_timeout']:g}s waiting for {dyno['name']}"), **result)
        hm.fail(f"Heroku app {hm.app!r}: the log of {dyno['name']} ended without the command's exit status", **result)
    if rc != 0:
        hm.fail(f"Heroku app {hm.app!r}: {p['command']!r} exited with status {rc} in {dyno['name']}", **result)
    hm.exit(**result)


def restart(hm: HerokuModule) -> None:
    p = hm.params
    if p["type"] and p["dyno"]:
        hm.fail("type and dyno are mutually exclusive")
    if p["type"]:
        hm.doing("reading the formation")
        known = {entry.get("type") for entry in hm.client.formation(hm.app)}
        if p["type"] not in known:
            hm.fail(f"Heroku app {hm.app!r} has no process type {p['type']!r}")
    target = p["dyno"] or (f"{p['type']} dynos" if p["type"] else "all dynos")
    dynos = hm.write(f"restarting {target}", lambda: restarted(hm), predicted=None)
    hm.exit(True, restarted=target, **({} if dynos is None else {"dynos": dynos}))


def restarted(hm: HerokuModule) -> list[dict[str, t.Any]]:
    """Restart what the options name; the dynos afterwards."""
    p = hm.params
    if p["dyno"]:
        hm.client.restart_dyno(hm.app, p["dyno"])
    elif p["type"]:
        hm.client.restart_process_type(hm.app, p["type"])
    else:
        hm.client.restart_all_dynos(hm.app)
    hm.doing("listing dynos")
    return hm.client.dynos(hm.app)


def run(hm: HerokuModule) -> None:
    if hm.params["state"] == "run":
        run_command(hm)
    restart(hm)


def main() -> None:
    spec = dict(
        app=dict(type="str", required=True),
        state=dict(type="str", required=True, choices=["restarted", "run"]),
        type=dict(type="str"),
        dyno=dict(type="str"),
        command=dict(type="str"),
        size=dict(type="str"),
        env=dict(type="dict"),
        time_to_live=dict(type="int"),
    )
    spec.update(WAIT_ARGUMENT_SPEC)
    HerokuModule(
        spec,
        required_if=[("state", "run", ["command"])],
        mutually_exclusive=[("type", "dyno")],
    ).run(run)


if __name__ == "__main__":
    main()
