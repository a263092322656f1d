"""Spiegel: the Dagster code location and the platform's Python modules.

Each module holds one concern (see ../shared/spec/architecture.md); the method itself
lives only in ``dbt_project/models``.
"""

import warnings as _warnings

# Partitioned asset checks are a Dagster preview feature we rely on deliberately
# (a check result per delivery); its warning would only repeat that on every load.
try:  # pragma: no branch
    from dagster import PreviewWarning as _PreviewWarning

    _warnings.filterwarnings("ignore", category=_PreviewWarning)
except ImportError:  # dagster not installed (e.g. the generator used alone)
    pass
