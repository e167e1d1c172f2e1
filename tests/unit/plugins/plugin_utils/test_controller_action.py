# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from ansible_collections.appops.runbooks.plugins.module_utils._heroku.fleet import ARGUMENT_SPEC
from ansible_collections.appops.runbooks.plugins.module_utils._worker import with_environment_fallbacks


def test_the_task_environment_fills_what_the_arguments_leave_out():
    filled = with_environment_fallbacks({"apps": ["a"]}, ARGUMENT_SPEC,
                                        {"HEROKU_API_KEY": "key", "HEROKU_HOST": "heroku.example", "PATH": "/bin"})
    assert filled == {"apps": ["a"], "api_key": "key", "api_url": "heroku.example"}


def test_an_argument_wins_over_the_environment_and_the_first_variable_wins_over_the_next():
    filled = with_environment_fallbacks({"api_key": "given"}, ARGUMENT_SPEC,
                                        {"HEROKU_API_KEY": "env", "HEROKU_API_URL": "first", "HEROKU_HOST": "second",
                                         "APPOPS_API_RETRIES": "2"})
    assert filled == {"api_key": "given", "api_url": "first", "retries": "2"}
