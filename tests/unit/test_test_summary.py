# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""scripts/test.sh must end with the one line CI reads, with honest counts and exit status.

Each case runs the real script on a throwaway tree holding only the files that case needs."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
VENV = pathlib.Path(sys.executable).parent.parent

PASSING = "def test_ok():\n    assert 1 + 1 == 2\n"
FAILING = "def test_broken():\n    assert 1 + 1 == 3\n"
SKIPPING = "import pytest\n\n\n@pytest.mark.skip(reason='case')\ndef test_later():\n    pass\n"
NO_TESTS = "def helper():\n    return 1\n"


def run_unit_stage(tree: pathlib.Path, files: dict[str, str]) -> tuple[int, list[str]]:
    (tree / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "test.sh", tree / "scripts" / "test.sh")
    shutil.copy(REPO / "pytest.ini", tree / "pytest.ini")
    for name, text in files.items():
        path = tree / "tests" / "unit" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    env = dict(os.environ, VENV=str(VENV))
    env.pop("PYTEST_ADDOPTS", None)
    result = subprocess.run(["bash", str(tree / "scripts" / "test.sh"), "unit"], env=env, capture_output=True, text=True, timeout=300, check=False)
    return result.returncode, result.stdout.splitlines()


@pytest.mark.parametrize(
    ("files", "last_line", "status"),
    [
        ({"test_a.py": PASSING + "\n\n" + FAILING}, "1 passed, 1 failed", 1),
        ({"test_a.py": PASSING, "test_b.py": SKIPPING}, "1 passed, 0 failed, 1 skipped", 0),
        ({"test_a.py": PASSING, "sub/test_a.py": PASSING}, "2 passed, 0 failed", 0),
        # Test files that hold no test (pytest exit 5) are a failure, not a silent pass.
        ({"test_empty.py": NO_TESTS}, "0 passed, 1 failed", 1),
    ],
    ids=["one-fails", "skip-counted", "same-basename", "no-tests-collected"],
)
def test_summary_line_and_status(tmp_path: pathlib.Path, files: dict[str, str], last_line: str, status: int) -> None:
    returncode, lines = run_unit_stage(tmp_path, files)
    assert lines[-1] == last_line, "\n".join(lines)
    assert returncode == status


def test_a_stage_whose_test_files_are_gone_fails(tmp_path: pathlib.Path) -> None:
    # A deleted suite must not leave a green summary behind.
    returncode, lines = run_unit_stage(tmp_path, {"helpers.py": NO_TESTS})
    assert lines[-1] == "0 passed, 1 failed"
    assert any("its tests are missing" in line for line in lines)
    assert returncode == 1


def test_unknown_stage_fails_with_the_summary_line(tmp_path: pathlib.Path) -> None:
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO / "scripts" / "test.sh", tmp_path / "scripts" / "test.sh")
    result = subprocess.run(["bash", str(tmp_path / "scripts" / "test.sh"), "nosuchstage"], env=dict(os.environ, VENV=str(VENV)),
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert result.stdout.splitlines()[-1] == "0 passed, 1 failed"
