# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.appops.runbooks.plugins.filter.api import api_retryable


@pytest.mark.parametrize(("result", "expected"), [
    ({"changed": True}, False),
    ({"failed": True, "msg": "build failed"}, False),
    ({"failed": True, "api_error": {"status": 503}}, True),
    ({"failed": True, "api_error": {"status": 429}}, True),
    ({"failed": True, "api_error": {"status": None}}, True),
    ({"failed": True, "api_error": {"status": 422}}, False),
    ({"failed": True, "api_error": {"status": 404}}, False),
    (None, False),
])
def test_retry_only_what_a_retry_can_fix(result, expected):
    assert api_retryable(result) is expected
