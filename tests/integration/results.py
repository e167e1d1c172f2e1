# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a run published, read as CI reads it: the ansible.posix.json stdout callback's
global_custom_stats, whose key appops holds one outcome per app (README.md, "Results")."""
from __future__ import annotations

import json
import typing as t

# Every outcome carries these keys, whatever the procedure and however it ended.
OUTCOME_KEYS = frozenset({"app", "procedure", "changed", "backup_id", "stores", "safety_backup", "rto_seconds",
                          "rpo_seconds", "rto_met", "rpo_met", "health", "release", "details", "failed",
                          "failed_step", "message"})
JSON_CALLBACK = {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"}


def json_report(output: str) -> dict[str, t.Any]:
    """The json callback's document; anything Python itself wrote to stderr (a deprecation warning)
    may come before it when a test reads both streams at once."""
    start = output.index('{\n    "custom_stats"')
    return json.JSONDecoder().raw_decode(output[start:])[0]


def published(output: str) -> dict[str, dict[str, t.Any]]:
    """appops: {<app>: outcome}, each outcome checked to have the documented keys."""
    outcomes = json_report(output)["global_custom_stats"]["appops"]
    for app, outcome in outcomes.items():
        assert set(outcome) == OUTCOME_KEYS and outcome["app"] == app, outcome
    return outcomes
