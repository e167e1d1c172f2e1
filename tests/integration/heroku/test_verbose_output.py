# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""No secret in the output of the procedures at -vvvv.

It runs on the emulator instance of the lock tests' group (``locks_heroku_lab``), which has time
to spare, beside the other Heroku tests."""

from __future__ import annotations

import json

import pytest

from ansible_collections.appops.runbooks.tests.integration.heroku.conftest import HerokuLab, lab_token

pytestmark = pytest.mark.integration

PROD = "sc-mvp-production"


@pytest.fixture
def heroku_lab(locks_heroku_lab: HerokuLab) -> HerokuLab:
    return locks_heroku_lab


def test_no_secret_in_verbose_output(emulator, playbook, tmp_path):
    secret_values = [lab_token(), "new-sheet-secret-90210",
                     *(emulator.config_var("micmap-api", key) for key in ("MONGODB_URI", "SHEET_ID", "REDIS_URL")),
                     *(emulator.config_var(PROD, key) for key in ("DATABASE_URL", "SECRET_KEY_BASE"))]
    # The database password alone, as it sits inside DATABASE_URL.
    secret_values.append(emulator.config_var(PROD, "DATABASE_URL").split("://", 1)[1].split("@")[0].split(":")[1])
    secret_vars = tmp_path / "config.json"
    secret_vars.write_text(json.dumps({"config": {"SHEET_ID": "new-sheet-secret-90210"}}))
    runs = [
        # A secret is passed in a vars file, as it should be: ansible-playbook itself echoes -e values at -vvvv.
        playbook("config.yml", "micmap-api", verbosity=4, extra_file=secret_vars),
        playbook("cache_flush.yml", "micmap-api", verbosity=4),
        playbook("backup.yml", PROD, verbosity=4),
        playbook("restore.yml", PROD, {"confirm": PROD, "backup_id": "b002"}, verbosity=4),
        playbook("maintenance.yml", "micmap-api", {"state": "off"}, verbosity=4),
    ]
    for run in runs:
        assert run.rc == 0, run.raw[-4000:]
        for secret in secret_values:
            assert secret not in run.raw, f"a secret ({secret[:4]}...) appears in the output"
        assert "signature=" not in run.raw, "a signed backup URL appears in the output"
