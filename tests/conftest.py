"""Shared test setup: tests import the hand-made delivery factory by name."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
