"""Spiegel: the Dagster code location and the platform's Python modules.

Each module holds one concern (see ../shared/spec/architecture.md); the method itself
lives only in ``dbt_project/models``.
"""

import warnings as _warnings

# Partitioned asset checks (preview) and the multi-to-single partition mapping (beta)
# are Dagster features we rely on deliberately (a check result per delivery; a period
# reading all its deliveries); their warnings would only repeat that on every load.
try:  # pragma: no branch
    from dagster import BetaWarning as _BetaWarning
    from dagster import PreviewWarning as _PreviewWarning

    _warnings.filterwarnings("ignore", category=_PreviewWarning)
    _warnings.filterwarnings("ignore", category=_BetaWarning)
except ImportError:  # dagster not installed (e.g. the generator used alone)
    pass
