"""Maintenance mode: on while a marker file exists (written by the operators' playbooks)."""
from __future__ import annotations

import json
import os

DEFAULT_MESSAGE = "Coffee Tracker is down for maintenance, please retry shortly."


def is_on(marker_path: str) -> bool:
    # A stat per request is cheap and lets operators switch without restarting the app.
    return os.path.exists(marker_path)


def message(marker_path: str) -> str:
    """The operator's message from the marker file, or a default when it has none."""
    try:
        with open(marker_path, encoding="utf-8") as handle:
            content = json.load(handle)
    except (OSError, ValueError):
        return DEFAULT_MESSAGE
    if isinstance(content, dict) and isinstance(content.get("message"), str) and content["message"]:
        return content["message"]
    return DEFAULT_MESSAGE
