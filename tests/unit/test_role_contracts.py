# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The contract between playbooks and roles: every role's meta/appops.yml is complete and true.

For every entry point a role declares: its tasks file exists, its argument spec entry exists and
describes it, its result fact is documented (common's `results`), and the tasks file sets no
other result fact (`appops_*`) than the one declared. The role_contracts lookup derives from the
same files what validate accepts."""

from __future__ import annotations

import pathlib
import re
from typing import Any

import pytest
import yaml

ROLES = pathlib.Path(__file__).resolve().parents[2] / "roles"
ROLE_DIRS = sorted(path for path in ROLES.iterdir() if path.is_dir())


def declaration(role: pathlib.Path) -> dict[str, Any]:
    # Read directly for the parametrization: the lookup plugin (which imports ansible's plugin
    # machinery) is imported only by the tests that run it, not while every test file is collected.
    return yaml.safe_load((role / "meta" / "appops.yml").read_text(encoding="utf-8"))["appops_role"]


@pytest.fixture(name="role_contracts")
def role_contracts_plugin() -> Any:
    from ansible_collections.appops.runbooks.plugins.lookup import role_contracts  # pylint: disable=import-outside-toplevel
    return role_contracts


@pytest.fixture(name="summary")
def derived_summary(role_contracts: Any) -> dict[str, Any]:
    return role_contracts.summarize(role_contracts.read_declarations(ROLES))


def documented_results() -> dict[str, str]:
    return declaration(ROLES / "common").get("results") or {}


def argument_specs(role: pathlib.Path) -> dict[str, Any]:
    return yaml.safe_load((role / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))["argument_specs"]


def entry_points() -> list[tuple[pathlib.Path, str, str | None]]:
    return [(role, name, (entry or {}).get("result"))
            for role in ROLE_DIRS for name, entry in (declaration(role).get("entry_points") or {}).items()]


def tasks_of(block: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Every task of a tasks file, blocks, rescue and always included."""
    found: list[dict[str, Any]] = []
    for task in block or []:
        found.append(task)
        for key in ("block", "rescue", "always"):
            found.extend(tasks_of(task.get(key)))
    return found


def result_facts_set(tasks_file: pathlib.Path) -> set[str]:
    """Result facts (appops_*) a tasks file sets with set_fact or register; clearing one (null) is no result."""
    names: set[str] = set()
    for task in tasks_of(yaml.safe_load(tasks_file.read_text(encoding="utf-8"))):
        registered = task.get("register")
        if isinstance(registered, str):
            names.add(registered)
        facts = task.get("ansible.builtin.set_fact") or task.get("set_fact") or {}
        names.update(name for name, value in facts.items() if value is not None and name != "cacheable")
    return {name for name in names if name.startswith("appops_")}


def ids(entry: tuple[pathlib.Path, str, str | None]) -> str:
    return f"{entry[0].name}.{entry[1]}"


@pytest.mark.parametrize("role", ROLE_DIRS, ids=lambda path: path.name)
def test_every_role_declares_itself(role: pathlib.Path, role_contracts: Any) -> None:
    declared = role_contracts.read_declaration(role)
    assert declared.get("entry_points"), f"{role.name} declares no entry point"
    if declared["kind"] == "store":
        assert re.compile(declared["backup_id_pattern"])


@pytest.mark.parametrize("role", ROLE_DIRS, ids=lambda path: path.name)
def test_every_public_tasks_file_is_a_declared_entry_point(role: pathlib.Path) -> None:
    public = {path.stem for path in (role / "tasks").glob("*.yml") if not path.name.startswith("_")}
    assert public == set(declaration(role)["entry_points"])


@pytest.mark.parametrize("entry", entry_points(), ids=ids)
def test_entry_point_has_tasks_and_a_described_argument_spec(entry: tuple[pathlib.Path, str, str | None]) -> None:
    role, name = entry[0], entry[1]
    assert (role / "tasks" / f"{name}.yml").is_file()
    spec = argument_specs(role).get(name)
    assert spec is not None, f"{role.name}: no argument spec for {name}"
    assert spec.get("short_description") and spec.get("description"), f"{role.name}.{name} is not described"


@pytest.mark.parametrize("entry", entry_points(), ids=ids)
def test_entry_point_result_is_documented(entry: tuple[pathlib.Path, str, str | None]) -> None:
    role, name, result = entry
    assert result is None or documented_results().get(result), f"{role.name}.{name}: result {result} has no documented shape"


@pytest.mark.parametrize("entry", entry_points(), ids=ids)
def test_entry_point_sets_no_undeclared_result(entry: tuple[pathlib.Path, str, str | None]) -> None:
    role, name, result = entry
    assert result_facts_set(role / "tasks" / f"{name}.yml") <= ({result} if result else set())


def test_the_scan_sees_results_in_blocks() -> None:
    # The scan itself: a result set in a rescue and in a block, and a register, are all found.
    assert result_facts_set(ROLES / "common" / "tasks" / "_deploy_body.yml") == {"appops_release"}
    assert result_facts_set(ROLES / "heroku" / "tasks" / "release.yml") == {"appops_release_made"}
    assert result_facts_set(ROLES / "compose" / "tasks" / "health.yml") == {"appops_health"}


@pytest.mark.parametrize("kind", ["platforms", "store_kinds", "cache_kinds"])
def test_every_kind_has_its_role(kind: str, summary: dict[str, Any]) -> None:
    assert summary[kind]
    assert all((ROLES / name / "tasks").is_dir() for name in summary[kind])


def test_the_lookup_derives_what_the_roles_declare(summary: dict[str, Any]) -> None:
    assert summary["platforms"] == ["compose", "heroku", "vercel"]
    assert summary["store_kinds"] == ["atlas", "compose_postgres", "heroku_postgres", "sqlite", "supabase"]
    assert summary["cache_kinds"] == ["redis"]
    assert summary["platform_backup_kinds"] == ["heroku_postgres"]
    # A store's method picks who keeps its backups: atlas's default (logical) the catalog, snapshot Atlas.
    assert summary["default_methods"]["atlas"] == "logical"
    assert summary["store_methods"]["atlas"]["logical"]["backups"] == "collection"
    assert summary["store_methods"]["atlas"]["snapshot"] == {"backups": "platform", "backup_id_pattern": "[0-9a-f]{24}"}
    assert summary["store_methods"]["heroku_postgres"] == {
        "default": {"backups": "platform", "backup_id_pattern": summary["backup_id_patterns"]["heroku_postgres"]}}
    assert "maintenance_fleet" in summary["entry_points"]["heroku"]
    assert "maintenance_fleet" not in summary["entry_points"]["compose"]
    assert not set(summary["planned"]["platforms"]) & set(summary["platforms"])


PLATFORM_ROLE = "appops.runbooks.{{ app_platform }}"
# A guard that includes a primitive only when the platform declares it (common/defaults/main.yml).
OPTIONAL_GUARD = "in common_platform_primitives"


def platform_primitives_included() -> dict[str, bool]:
    """Primitive -> whether every platform must offer it: every include of the app's platform role in
    the tasks files of common, the stores and the caches; optional when guarded by the declaration."""
    included: dict[str, bool] = {}
    for tasks_file in sorted(ROLES.glob("*/tasks/*.yml")):
        for task in tasks_of(yaml.safe_load(tasks_file.read_text(encoding="utf-8"))):
            include = task.get("ansible.builtin.include_role") or {}
            if include.get("name") != PLATFORM_ROLE:
                continue
            when = task.get("when") or []
            optional = any(OPTIONAL_GUARD in str(condition) for condition in (when if isinstance(when, list) else [when]))
            name = include["tasks_from"]
            included[name] = included.get(name, False) or not optional
    return included


def test_platforms_offer_the_primitives_the_skeletons_call(summary: dict[str, Any]) -> None:
    # common's skeletons and the store and cache roles call these on app_platform.
    included = platform_primitives_included()
    required = {name for name, needed in included.items() if needed}
    assert {"health", "maintenance", "config_var", "current_release", "release", "activate",
            "rollback_target"} <= required
    assert included.get("record") is False
    for platform in summary["platforms"]:
        assert required <= set(summary["entry_points"][platform]), platform


def test_platforms_declare_what_a_failed_rollback_leaves(summary: dict[str, Any], role_contracts: Any,
                                                         tmp_path: pathlib.Path) -> None:
    assert {summary["roles"][name]["failed_rollback"] for name in summary["platforms"]} <= {"put_back", "keep_failed"}
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "appops.yml").write_text("appops_role: {kind: platform, entry_points: {}}\n", encoding="utf-8")
    with pytest.raises(Exception, match="failed_rollback"):
        role_contracts.read_declaration(tmp_path)


@pytest.mark.parametrize("backup_id, accepted", [
    ("latest", True), ("20250101T020000Z", True), ("20250101T020000Z-2", True), ("b003", True), ("a012", True),
    ("20250101T020000Z\n", False), ("latest\n", False), ("b003\n", False), ("../../etc", False), ("b3", False),
])
def test_backup_id_patterns_match_whole_values(backup_id: str, accepted: bool, summary: dict[str, Any]) -> None:
    # The pattern common builds from the declared patterns (defaults/main.yml common_backup_id_pattern).
    patterns = "|".join(sorted(set(summary["backup_id_patterns"].values())))
    assert bool(re.match(rf"\A(latest|{patterns})\Z", backup_id)) is accepted


def test_a_declaration_without_a_kind_is_refused(tmp_path: pathlib.Path, role_contracts: Any) -> None:
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "appops.yml").write_text("appops_role: {entry_points: {}}\n", encoding="utf-8")
    with pytest.raises(Exception, match="appops_role.kind"):
        role_contracts.read_declaration(tmp_path)


def test_a_store_method_without_its_keeper_or_pattern_is_refused(tmp_path: pathlib.Path, role_contracts: Any) -> None:
    (tmp_path / "meta").mkdir()
    declaration = tmp_path / "meta" / "appops.yml"
    base = "appops_role: {kind: store, backups: collection, backup_id_pattern: 'x', entry_points: {}, "
    declaration.write_text(base + "methods: {snapshot: {backups: elsewhere, backup_id_pattern: 'y'}}}\n", encoding="utf-8")
    with pytest.raises(Exception, match="method snapshot of a store declares backups"):
        role_contracts.read_declaration(tmp_path)
    declaration.write_text(base + "methods: {snapshot: {backups: platform}}}\n", encoding="utf-8")
    with pytest.raises(Exception, match="method snapshot of a store declares its backup_id_pattern"):
        role_contracts.read_declaration(tmp_path)
