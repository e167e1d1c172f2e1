# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""heroku_pg_backup's ``after``: a retried task finds the work of an earlier attempt."""
from __future__ import annotations

from ansible_collections.appops.runbooks.plugins.modules import heroku_pg_backup
from ansible_collections.appops.runbooks.tests.unit.plugins.modules import heroku_fake
from ansible_collections.appops.runbooks.tests.unit.plugins.modules.heroku_fake import run_module

heroku = heroku_fake.heroku  # the fake API fixture, used by name in the tests

APP = "sc-mvp-production"


def test_capture_after_returns_the_backup_an_earlier_attempt_took(heroku):
    app = heroku.add_app(APP)
    heroku.add_backup(app)
    first = run_module(heroku_pg_backup, {"app": APP, "state": "captured", "after": 1})
    assert first["changed"] is True and first["backup"]["name"] == "b002"
    retried = run_module(heroku_pg_backup, {"app": APP, "state": "captured", "after": 1})
    assert retried["changed"] is False and retried["attached"] is True and retried["backup"]["name"] == "b002"
    assert len(heroku.requests("POST", f"/client/v11/databases/{app.addon['id']}/backups")) == 1
    # Without `after` every run captures: that is what a new backup means.
    assert run_module(heroku_pg_backup, {"app": APP, "state": "captured"})["backup"]["name"] == "b003"


def test_restore_after_restores_again_once(heroku):
    app = heroku.add_app(APP)
    heroku.add_backup(app)
    args = {"app": APP, "state": "restored", "backup": "b001", "confirm": APP}
    assert run_module(heroku_pg_backup, args)["changed"] is True  # r002
    assert run_module(heroku_pg_backup, args)["changed"] is False
    # Rows changed since r002: restore again, and a retry of that finds r003.
    again = run_module(heroku_pg_backup, dict(args, after=2))
    assert again["changed"] is True and again["restore"]["num"] == 3
    retried = run_module(heroku_pg_backup, dict(args, after=2))
    assert retried["changed"] is False and retried["restore"]["num"] == 3
    assert len(heroku.requests("POST", f"/client/v11/databases/{app.addon['id']}/restores")) == 2
