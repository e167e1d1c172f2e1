# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parts of the Atlas lab: the buildInfo completion, schedule times, version negotiation,
Digest checking (no server needed; the emulator's behaviour is proven in tests/emulators)."""

from __future__ import annotations

import calendar
import hashlib
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lab" / "emulators"))

from atlas import auth  # noqa: E402
from atlas.httpcore import ApiError, Request  # noqa: E402
from atlas.lab import next_scheduled  # noqa: E402
from atlas.mongo_server import complete_build_info, version_array  # noqa: E402
from atlas.server import negotiate  # noqa: E402


def request(accept: str = "", method: str = "GET", body: bytes = b"", content_type: str = "",
            authorization: str = "") -> Request:
    headers = {"Accept": accept, "Content-Type": content_type, "Authorization": authorization}
    return Request(method, "/api/atlas/v2/groups/g", {}, headers, body, "rid")


def test_build_info_gets_what_mongorestore_reads() -> None:
    info = complete_build_info({"ok": 1, "version": "7.0.0"})
    assert info["versionArray"] == [7, 0, 0, 0]
    assert info["bits"] == 64 and info["maxBsonObjectSize"] == 16 * 1024 * 1024
    assert isinstance(info["gitVersion"], str) and info["modules"] == []
    assert version_array("6.0.12-rc1") == [6, 0, 0, 0] and version_array("5") == [5, 0, 0, 0]
    assert complete_build_info({"version": "7.0.0", "bits": 32})["bits"] == 32, "present fields are kept"


def utc(text: str) -> float:
    return float(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M")))


def test_next_scheduled_follows_the_most_frequent_item_from_the_reference_time() -> None:
    schedule = {"referenceHourOfDay": 2, "referenceMinuteOfHour": 15, "policies": [{"policyItems": [
        {"frequencyType": "daily", "frequencyInterval": 1, "retentionUnit": "days", "retentionValue": 7},
        {"frequencyType": "hourly", "frequencyInterval": 6, "retentionUnit": "days", "retentionValue": 2}]}]}
    moment, item = next_scheduled(schedule, utc("2026-12-06T09:00"))  # type: ignore[misc]
    assert moment == utc("2026-12-06T14:15") and item["frequencyType"] == "hourly"
    moment, _item = next_scheduled(schedule, utc("2026-12-06T01:00"))  # type: ignore[misc]
    assert moment == utc("2026-12-06T02:15")
    daily = {"referenceHourOfDay": 2, "referenceMinuteOfHour": 0, "policies": [{"policyItems": [
        {"frequencyType": "daily", "frequencyInterval": 1, "retentionUnit": "days", "retentionValue": 7}]}]}
    assert next_scheduled(daily, utc("2026-12-06T02:00"))[0] == utc("2026-12-07T02:00")  # type: ignore[index]
    assert next_scheduled({"policies": []}, 0.0) is None


def test_version_negotiation() -> None:
    versions = ("2023-01-01", "2024-08-05")
    assert negotiate(request("application/vnd.atlas.2024-08-05+json"), versions) == "2024-08-05"
    assert negotiate(request("application/json"), versions) == "2023-01-01"
    with pytest.raises(ApiError) as refused:
        negotiate(request("application/vnd.atlas.2023-02-01+json"), versions)
    assert refused.value.status == 406 and refused.value.code == "INVALID_VERSION_DATE"
    with pytest.raises(ApiError) as mismatched:
        negotiate(request("application/vnd.atlas.2024-08-05+json", "PATCH", b"{}",
                          "application/vnd.atlas.2023-01-01+json"), versions)
    assert mismatched.value.status == 415


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - Digest is defined with MD5


def digest_header(user: str, password: str, nonce: str, uri: str = "/api/atlas/v2/groups/g") -> str:
    ha1, ha2 = md5(f"{user}:{auth.REALM}:{password}"), md5(f"GET:{uri}")
    answer = md5(f"{ha1}:{nonce}:00000001:abc:auth:{ha2}")
    return (f'Digest username="{user}", realm="{auth.REALM}", nonce="{nonce}", uri="{uri}", '
            f'response="{answer}", qop=auth, nc=00000001, cnonce="abc"')


def test_digest_accepts_the_key_and_refuses_a_wrong_one_or_a_stale_nonce() -> None:
    keys = {"pub": "secret"}
    nonce = auth.new_nonce()
    header = digest_header("pub", "secret", nonce)
    assert auth.check_digest(request(authorization=header), header, keys) == "apikey:pub"
    wrong = digest_header("pub", "guess", nonce)
    with pytest.raises(ApiError) as refused:
        auth.check_digest(request(authorization=wrong), wrong, keys)
    assert refused.value.status == 401 and "WWW-Authenticate" in refused.value.headers
    stale_nonce = auth.new_nonce(time.time() - auth.NONCE_TTL - 1)
    stale = digest_header("pub", "secret", stale_nonce)
    with pytest.raises(ApiError) as expired:
        auth.check_digest(request(authorization=stale), stale, keys)
    assert "stale=true" in expired.value.headers["WWW-Authenticate"]
