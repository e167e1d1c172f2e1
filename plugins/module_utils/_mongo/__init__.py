# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The MongoDB engine of the collection (private): the logical (mongodump) way of a store, and indexes.

- ``client``: the one way a pymongo client is opened (server selection timeout, options), the
  shared ``uri`` option, and MongoModule, the base of mongodb_index and mongodb_index_info.
- ``indexes``: indexes as those modules compare and return them, and their usage.

- ``archive``: reads a ``mongodump --archive --gzip`` file back (every namespace, every document,
  the tool's own CRC-64 per namespace), with the document counts and a content fingerprint per
  collection.
- ``live``: the same counts and fingerprints of the live collections, through pymongo.
- ``tools``: the real ``mongodump`` and ``mongorestore`` binaries, run with the connection string in
  a private config file (never on the command line).
- ``procedures``: what the modules do with these (dump, compare, restore).
"""
