# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each role's meta/argument_specs.yml documents the defaults its defaults/main.yml really sets.

ansible-core only validates against the spec; the values come from defaults/main.yml. So a
`default:` in the spec is documentation (`ansible-doc -t role`) that must not drift from it."""

from __future__ import annotations

import pathlib

import pytest
import yaml

ROLES = pathlib.Path(__file__).resolve().parents[2] / "roles"
ROLE_DIRS = sorted(path for path in ROLES.iterdir() if (path / "meta" / "argument_specs.yml").is_file())


def is_template(value: object) -> bool:
    return "{{" in repr(value) or "{%" in repr(value)


def role_defaults(role: pathlib.Path) -> dict:
    path = role / "defaults" / "main.yml"
    return (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}


def spec_options(role: pathlib.Path) -> list[tuple[str, str, dict]]:
    specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    return [(entry, name, option) for entry, spec in specs.items() for name, option in (spec.get("options") or {}).items()]


def test_every_role_has_a_spec() -> None:
    assert {path.name for path in ROLE_DIRS} == {path.name for path in ROLES.iterdir() if path.is_dir()}


@pytest.mark.parametrize("role", ROLE_DIRS, ids=lambda path: path.name)
def test_spec_defaults_match_the_role_defaults(role: pathlib.Path) -> None:
    defaults = role_defaults(role)
    wrong = [
        f"{entry}.{name}: spec {option['default']!r}, defaults/main.yml {defaults.get(name, '<unset>')!r}"
        for entry, name, option in spec_options(role)
        if "default" in option and option["default"] != defaults.get(name)
    ]
    assert not wrong


@pytest.mark.parametrize("role", ROLE_DIRS, ids=lambda path: path.name)
def test_plain_role_defaults_are_documented_in_the_spec(role: pathlib.Path) -> None:
    # Templated defaults are described in words; a plain value belongs in `default:`.
    defaults = role_defaults(role)
    missing = [
        f"{entry}.{name}"
        for entry, name, option in spec_options(role)
        if name in defaults and not option.get("required") and not is_template(defaults[name]) and "default" not in option
    ]
    assert not missing
