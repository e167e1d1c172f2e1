# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The MongoDB engine of the collection (private), for the logical (mongodump) way of a store.

- ``archive``: reads a ``mongodump --archive --gzip`` file back (every namespace, every document,
  the tool's own CRC-64 per namespace), with the document counts and a content fingerprint per
  collection.
- ``live``: the same counts and fingerprints of the live collections, through pymongo.
- ``tools``: the real ``mongodump`` and ``mongorestore`` binaries, run with the connection string in
  a private config file (never on the command line).
- ``procedures``: what the modules do with these (dump, compare, restore).
"""
