"""Partitions: periods (``YYYY-vN``) and deliveries (period x insurer).

Periods are dynamic: a period appears when its first complete delivery lands (the
landing sensor adds it; ``spiegel run`` adds it too). The insurers come from the
required-insurers seed, so an insurer joining or leaving is a seed change.
"""

from __future__ import annotations

import warnings

import dagster as dg

from orchestration.core.seeds import insurers

# Partitioned asset checks (preview) and the multi-to-single partition mapping (beta) are
# Dagster features the platform relies on deliberately (a check result per delivery; a
# period reading all its deliveries). Every asset module imports these partitions first,
# so the filter is in place before any of them is defined; the warnings would only repeat
# that on every load.
warnings.filterwarnings("ignore", category=dg.PreviewWarning)
warnings.filterwarnings("ignore", category=dg.BetaWarning)

PERIOD_PARTITIONS_NAME = "period"

period_partitions = dg.DynamicPartitionsDefinition(name=PERIOD_PARTITIONS_NAME)

insurer_partitions = dg.StaticPartitionsDefinition([i.insurer_id for i in insurers()])

delivery_partitions = dg.MultiPartitionsDefinition({"period": period_partitions, "insurer": insurer_partitions})

# A period's method reads every insurer's delivery of that period.
period_of_delivery = dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name="period")


def delivery_key(period: str, insurer: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"period": period, "insurer": insurer})


def split_delivery_key(key: dg.MultiPartitionKey | str) -> tuple[str, str]:
    """(period, insurer) of a delivery partition key (string form: ``insurer|period``)."""
    if isinstance(key, dg.MultiPartitionKey):
        dims = key.keys_by_dimension
        return dims["period"], dims["insurer"]
    insurer, period = str(key).split("|")
    return period, insurer
