# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline stand-in for the get-pip bootstrap script that ansible-test downloads.

ansible-test fetches get-pip from a host this network cannot reach, but first looks for a
cached copy under ~/.ansible/test/cache/; scripts/setup.sh installs this file there. It gives
the same result from what Python and PyPI provide: ensurepip puts a pip into the empty venv,
then that pip installs the exact versions ansible-test asked for.
"""

from __future__ import annotations

import subprocess
import sys

# get-pip accepts these, `pip install` does not; ansible-test passes them to keep the venv bare,
# which ensurepip followed by a plain pip install already does.
GET_PIP_ONLY_OPTIONS = frozenset({"--no-setuptools", "--no-wheel"})


def pip_install_arguments(argv: list[str]) -> list[str]:
    """Return the bootstrap arguments that `pip install` understands."""
    return [arg for arg in argv if arg not in GET_PIP_ONLY_OPTIONS]


def main() -> int:
    """Bootstrap pip with ensurepip, then install what ansible-test asked for."""
    subprocess.run([sys.executable, "-m", "ensurepip", "--default-pip"], check=True, stdout=subprocess.DEVNULL)
    command = [sys.executable, "-m", "pip", "install", *pip_install_arguments(sys.argv[1:])]
    return subprocess.run(command, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
