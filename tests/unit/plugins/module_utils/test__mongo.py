# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The MongoDB engine's pure parts: the archive reader, the CRC-64 mongodump writes, connection strings."""

from __future__ import annotations

import gzip
import json
import struct
from pathlib import Path

import bson
import pytest

from ansible_collections.appops.runbooks.plugins.module_utils._mongo import archive, procedures, tools

TERMINATOR = struct.pack("<i", -1)


def write_archive(path: Path, collections: dict[str, list[dict]], crc_offset: int = 0, end: bool = True) -> None:
    """An archive in mongodump's layout (header, prelude, one block and an EOF block per collection)."""
    parts = [struct.pack("<I", archive.MAGIC),
             bson.encode({"concurrent_collections": 1, "version": "0.1", "server_version": "7.0.0",
                          "tool_version": "100.7.0"})]
    for name in collections:
        parts.append(bson.encode({"db": "shop", "collection": name, "type": "collection", "size": 0,
                                  "metadata": json.dumps({"indexes": [{"v": 2, "key": {"_id": 1}, "name": "_id_"}]})}))
    parts.append(TERMINATOR)
    for name, documents in collections.items():
        raws = [bson.encode(document) for document in documents]
        parts += [bson.encode({"db": "shop", "collection": name, "EOF": False, "CRC": 0}), *raws, TERMINATOR]
        if end:
            crc = 0
            for raw in raws:
                crc = archive.crc64_update(crc, raw)
            signed = struct.unpack("<q", struct.pack("<Q", (crc + crc_offset) & archive.MASK64))[0]
            parts += [bson.encode({"db": "shop", "collection": name, "EOF": True, "CRC": signed}), TERMINATOR]
    path.write_bytes(gzip.compress(b"".join(parts)))


def test_crc64_is_go_ecma() -> None:
    # The check value of CRC-64/XZ, which Go's crc64 with the ECMA table computes.
    assert archive.crc64_update(0, b"123456789") == 0x995DC9BBDF1939FA


def test_reads_counts_fingerprints_and_indexes(tmp_path: Path) -> None:
    path = tmp_path / "a.gz"
    write_archive(path, {"orders": [{"_id": i, "n": i} for i in range(5)], "users": []})
    summary = archive.read_archive(str(path))
    assert summary.counts == {"shop.orders": 5, "shop.users": 0}
    assert summary.indexes() == {"shop.orders": ["_id_"], "shop.users": ["_id_"]}
    assert summary.tool_version == "100.7.0"
    # The fingerprint does not depend on the order of the documents.
    reordered = tmp_path / "b.gz"
    write_archive(reordered, {"orders": [{"_id": i, "n": i} for i in reversed(range(5))], "users": []})
    assert archive.read_archive(str(reordered)).fingerprints == summary.fingerprints
    changed = tmp_path / "c.gz"
    write_archive(changed, {"orders": [{"_id": i, "n": i + (i == 3)} for i in range(5)], "users": []})
    assert archive.read_archive(str(changed)).fingerprints["shop.orders"] != summary.fingerprints["shop.orders"]


def test_a_wrong_crc_is_refused_unless_the_sha256_stood_for_it(tmp_path: Path) -> None:
    path = tmp_path / "a.gz"
    write_archive(path, {"orders": [{"_id": 1}]}, crc_offset=1)
    with pytest.raises(archive.ArchiveError, match="CRC-64"):
        archive.read_archive(str(path))
    assert archive.read_archive(str(path), check_crc=False).counts == {"shop.orders": 1}


@pytest.mark.parametrize("damage", ["no_end", "truncated", "not_an_archive"])
def test_incomplete_or_foreign_files_are_refused(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "a.gz"
    write_archive(path, {"orders": [{"_id": i} for i in range(3)]}, end=damage != "no_end")
    if damage == "truncated":
        path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-30]))
    if damage == "not_an_archive":
        path.write_bytes(gzip.compress(b"not a mongodump archive at all"))
    with pytest.raises(archive.ArchiveError):
        archive.read_archive(str(path))


@pytest.mark.parametrize(("uri", "expected"), [
    ("mongodb://127.0.0.1:18310/micmap", "mongodb://127.0.0.1:18310/"),
    ("mongodb+srv://u:p@c.example.net/fixzit?retryWrites=true", "mongodb+srv://u:p@c.example.net/?retryWrites=true&authSource=fixzit"),
    ("mongodb://u:p@h/fixzit?authSource=admin", "mongodb://u:p@h/?authSource=admin"),
    ("mongodb://h:1", "mongodb://h:1/"),
])
def test_the_tools_get_the_string_without_its_database(uri: str, expected: str) -> None:
    assert tools.uri_without_database(uri) == expected


def test_tool_output_never_shows_the_password() -> None:
    uri = "mongodb+srv://micmap:s3cret@c.example.net/micmap"
    assert "s3cret" not in tools.redact(f"failed to connect to {uri} with s3cret", uri)


def test_collection_names_become_namespaces() -> None:
    assert procedures.namespaces_of(["workOrders", "fixzit.users", " ", "workOrders"], "fixzit") == [
        "fixzit.users", "fixzit.workOrders"]
    with pytest.raises(procedures.ProcedureError):
        procedures.namespaces_of(["workOrders"], "")
