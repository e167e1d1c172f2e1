# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ending a module with the result of logic it shares with a controller-side action plugin (private).

That logic returns its result as a dict, with ``failed`` and ``msg`` on a failure, because an
action plugin must return it rather than exit; a module turns the same dict into its exit.
"""

from __future__ import annotations

import typing as t


def exit_with_result(module: t.Any, result: dict[str, t.Any]) -> t.NoReturn:
    """exit_json with the result, or fail_json when it says it failed."""
    if result.get("failed"):
        module.fail_json(**{key: value for key, value in result.items() if key != "failed"})
    module.exit_json(**result)
