"""The Dagster resource every stage's assets share: where the platform's state lives."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from orchestration.core.settings import SpiegelPaths, default_data_dir


class SpiegelResource(dg.ConfigurableResource):
    """Where the platform's state lives.

    Empty ``data_dir`` (the default) means: resolve ``SPIEGEL_DATA_DIR`` (else ``./data``)
    when a run starts, so the CLI, ``spiegel ui`` and the tests point the same
    definitions at their own data directory.
    """

    data_dir: str = ""

    @property
    def paths(self) -> SpiegelPaths:
        return SpiegelPaths(Path(self.data_dir).resolve() if self.data_dir else default_data_dir())
