# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read a ``mongodump --archive`` file (gzip or not) back, the way a restore would.

The archive format of the MongoDB Database Tools: a magic number, a prelude (a header document,
then one metadata document per namespace, then a terminator), then blocks of documents, each
opened by a namespace header and closed by a terminator; the last header of a namespace has
``EOF: true`` and the CRC-64 (ECMA polynomial, as Go's ``hash/crc64``) of all its documents.
Reading every block checks that the archive is complete (every namespace of the prelude ends with
its EOF header), that every document is whole BSON, and that its bytes are the ones the tool
wrote (the CRC). Counts and fingerprints come from the same pass.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import struct
import typing as t
import zlib

MAGIC = 0x8199E26D
TERMINATOR = -1
GZIP_MAGIC = b"\x1f\x8b"
CHUNK = 1 << 20
FINGERPRINT_MODULUS = 1 << 256
CRC64_ECMA_REFLECTED = 0xC96C5795D7870F42
MASK64 = (1 << 64) - 1


class ArchiveError(Exception):
    """The archive is not a complete, intact mongodump archive."""


def _crc64_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _bit in range(8):
            crc = (crc >> 1) ^ CRC64_ECMA_REFLECTED if crc & 1 else crc >> 1
        table.append(crc)
    return table


CRC64_TABLE = _crc64_table()


def crc64_update(crc: int, data: bytes) -> int:
    """Go's crc64.Update with the ECMA table (what mongodump writes into each EOF header)."""
    table = CRC64_TABLE
    crc ^= MASK64
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ MASK64


def document_digest(raw: bytes) -> int:
    """One document's share of a collection fingerprint."""
    return int.from_bytes(hashlib.sha256(raw).digest(), "big")


def combine(fingerprint: int, raw: bytes) -> int:
    """Sum of the documents' sha256 modulo 2**256: independent of the order documents come in, so
    the archive (dump order) and the live collection (natural order) can be compared."""
    return (fingerprint + document_digest(raw)) % FINGERPRINT_MODULUS


def fingerprint_text(value: int) -> str:
    return f"{value:064x}"


@dataclasses.dataclass
class Namespace:
    database: str
    collection: str
    metadata: dict[str, t.Any]
    kind: str = "collection"
    count: int = 0
    fingerprint: int = 0
    crc: int = 0
    ended: bool = False

    @property
    def name(self) -> str:
        return f"{self.database}.{self.collection}"


@dataclasses.dataclass
class ArchiveSummary:
    format_version: str
    server_version: str
    tool_version: str
    namespaces: dict[str, Namespace]

    @property
    def counts(self) -> dict[str, int]:
        return {name: ns.count for name, ns in sorted(self.namespaces.items())}

    @property
    def fingerprints(self) -> dict[str, str]:
        return {name: fingerprint_text(ns.fingerprint) for name, ns in sorted(self.namespaces.items())}

    def indexes(self) -> dict[str, list[str]]:
        return {name: sorted(index.get("name", "?") for index in ns.metadata.get("indexes", []))
                for name, ns in sorted(self.namespaces.items())}


class _Reader:
    """Exact reads from the (decompressed) stream, failing on a truncated archive."""

    def __init__(self, stream: t.IO[bytes]) -> None:
        self.stream = stream

    def exactly(self, size: int) -> bytes:
        data = self.stream.read(size)
        if len(data) != size:
            raise ArchiveError(f"the archive ends in the middle of a block ({len(data)} of {size} bytes)")
        return data

    def int32(self) -> int | None:
        """The next length or terminator; None at a clean end of the stream."""
        head = self.stream.read(4)
        if not head:
            return None
        if len(head) != 4:
            raise ArchiveError("the archive ends in the middle of a length")
        return struct.unpack("<i", head)[0]

    def document(self, length: int) -> bytes:
        if length < 5:
            raise ArchiveError(f"a BSON document of {length} bytes is impossible")
        raw = struct.pack("<i", length) + self.exactly(length - 4)
        if raw[-1:] != b"\x00":
            raise ArchiveError("a BSON document does not end with its terminating zero")
        return raw


def _decode(raw: bytes) -> dict[str, t.Any]:
    from bson import decode  # pymongo's bson: imported here so the docs build without it
    from bson.errors import InvalidBSON

    try:
        return decode(raw)
    except (InvalidBSON, ValueError) as error:
        raise ArchiveError(f"a document in the archive is not valid BSON: {error}") from error


def _open(path: str) -> t.IO[bytes]:
    with open(path, "rb") as probe:
        compressed = probe.read(2) == GZIP_MAGIC
    return gzip.open(path, "rb") if compressed else open(path, "rb")


def _read_prelude(reader: _Reader) -> tuple[dict[str, t.Any], dict[str, Namespace]]:
    magic = reader.int32()
    if magic is None or magic & 0xFFFFFFFF != MAGIC:
        raise ArchiveError("not a mongodump archive (wrong magic number)")
    length = reader.int32()
    if length is None or length == TERMINATOR:
        raise ArchiveError("the archive has no header")
    header = _decode(reader.document(length))
    namespaces: dict[str, Namespace] = {}
    while True:
        length = reader.int32()
        if length is None:
            raise ArchiveError("the archive ends inside its prelude")
        if length == TERMINATOR:
            return header, namespaces
        entry = _decode(reader.document(length))
        metadata = json.loads(entry.get("metadata") or "{}")
        namespace = Namespace(str(entry["db"]), str(entry["collection"]), metadata, str(entry.get("type") or "collection"))
        namespaces[namespace.name] = namespace


def _read_blocks(reader: _Reader, namespaces: dict[str, Namespace], check_crc: bool) -> None:
    current: Namespace | None = None
    while True:
        length = reader.int32()
        if length is None:
            break
        if length == TERMINATOR:
            current = None
            continue
        raw = reader.document(length)
        if current is not None:
            current.count += 1
            current.fingerprint = combine(current.fingerprint, raw)
            if check_crc:
                current.crc = crc64_update(current.crc, raw)
            continue
        header = _decode(raw)
        name = f"{header.get('db')}.{header.get('collection')}"
        if name not in namespaces:
            raise ArchiveError(f"the archive holds documents of {name}, which its prelude does not list")
        if header.get("EOF"):
            namespace = namespaces[name]
            expected = int(header.get("CRC") or 0) & MASK64
            if check_crc and expected != namespace.crc:
                raise ArchiveError(f"{name}: the documents' CRC-64 is {namespace.crc:016x}, the archive says {expected:016x}")
            namespace.ended = True
            # An EOF header is followed by a terminator of its own.
            continue
        current = namespaces[name]


def read_archive(path: str, check_crc: bool = True) -> ArchiveSummary:
    """Every namespace of the archive with its document count and fingerprint; raises ArchiveError."""
    try:
        with _open(path) as stream:
            reader = _Reader(stream)
            header, namespaces = _read_prelude(reader)
            _read_blocks(reader, namespaces, check_crc)
    except (OSError, EOFError, zlib.error, struct.error, KeyError, ValueError) as error:
        raise ArchiveError(f"{path} cannot be read back: {error}") from error
    unfinished = sorted(name for name, ns in namespaces.items() if not ns.ended and ns.kind == "collection")
    if unfinished:
        raise ArchiveError(f"{path} is incomplete: no end block for {', '.join(unfinished)}")
    return ArchiveSummary(str(header.get("version", "")), str(header.get("server_version", "")),
                          str(header.get("tool_version", "")), namespaces)
