# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What converge left in the Heroku emulator, read through its admin API and the app's router."""
from __future__ import annotations

import json
import os

API = os.environ.get("HEROKU_API_URL", "http://127.0.0.1:18100").rstrip("/")
ROUTER = os.environ.get("HEROKU_ROUTER_URL", "http://127.0.0.1:18101").rstrip("/")


def app_state(host) -> dict:
    return json.loads(host.check_output(f"curl -sf {API}/__lab/apps/sc-mvp-staging"))


def test_maintenance_is_on_and_the_router_answers_503(host):
    assert app_state(host)["maintenance"] is True
    answer = host.run(f"curl -s -o /dev/null -w '%{{http_code}}' {ROUTER}/sc-mvp-staging/healthz")
    assert answer.stdout == "503"


def test_web_runs_two_standard_dynos(host):
    assert app_state(host)["formation"]["web"] == {"quantity": 2, "size": "Standard-1X"}


def test_exactly_one_rollback_release_to_v4(host):
    releases = app_state(host)["releases"]
    rollbacks = [r["description"] for r in releases if r["description"].startswith("Rollback")]
    assert rollbacks == ["Rollback to v4"]
    # The idempotence run made no release: the rollback is the newest one.
    assert releases[-1]["description"] == "Rollback to v4"
