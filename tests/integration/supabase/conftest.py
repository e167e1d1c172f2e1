"""Fixtures of the supabase store tests: the Supabase emulator tests' own instance (18410)."""

from __future__ import annotations

import sys
from pathlib import Path

# pytest runs with --import-mode=importlib, which adds no test folder to sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "emulators"))

import supabase_lab_helpers  # noqa: E402

supabase_emulator = supabase_lab_helpers.supabase_emulator
supabase_lab = supabase_lab_helpers.supabase_lab
