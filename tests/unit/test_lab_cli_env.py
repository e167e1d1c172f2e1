# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""lab/cli.env holds the lab's API token: only its owner may read it."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lab" / "emulators"))

from heroku import LAB_TOKEN, services  # noqa: E402


def test_cli_env_is_written_0600_even_over_an_older_readable_file(tmp_path):
    path = tmp_path / "cli.env"
    path.write_text("HEROKU_API_KEY=old\n")
    path.chmod(0o644)
    services.write_cli_env(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert f"HEROKU_API_KEY={LAB_TOKEN}\n" in path.read_text()

    fresh = tmp_path / "fresh.env"
    previous = os.umask(0o022)
    try:
        services.write_cli_env(fresh)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(fresh).st_mode) == 0o600
