"""The one answer to "is this done?", asked by the sensors and by ``spiegel run`` alike.

"Done" is read from the Dagster instance, whoever did the work: ``spiegel run`` (the
CLI launches the same jobs on the same instance), the UI or a sensor. So the CLI and
the UI never disagree about what is left to do, also after an operator edits the
configuration:

- a **delivery** is done when the ``delivery`` asset's latest materialization for its
  partition names the ``delivery_id`` in force, that run evaluated the three delivery
  checks, and it ran after the gates' configuration last changed (the labels seed,
  the required insurers, the suites and their thresholds:
  ``seeds.gate_configuration_changed_at``). A required insurer with nothing in force
  is done once its absence is recorded (or when it was never ingested at all: the
  landing zone's own check names it);
- a **period** is done when its latest ``release_readiness`` materialization used
  exactly the deliveries in force (its ``deliveries`` metadata), with the method and
  seeds as they are now (its ``method_version`` metadata), after every one of those
  deliveries was last gated, and saw the newest practice register delivery under
  ``landing/_register/`` (its ``practice_register`` metadata: the register only names the
  practices in ``marts.dim_practices``, but a newer one must reach the next release), and
  the previous version (method.md §10, ``seeds.previous_period``) was not computed again
  after it: the period's index movement reads that version's index as it was computed, so
  a redelivery of the previous version makes the later one's movement stale.
"""

from __future__ import annotations

import hashlib

import dagster as dg

from orchestration.core.partitions import delivery_key
from orchestration.core.seeds import gate_configuration_changed_at, previous_period, required_insurers
from orchestration.core.settings import SpiegelPaths
from orchestration.landing.zone import DeliveryRef, complete_deliveries, in_force

DELIVERY_ASSET = dg.AssetKey("delivery")
READINESS_ASSET = dg.AssetKey("release_readiness")
DELIVERY_CHECK_NAMES = frozenset({"delivery_contract", "delivery_contents", "delivery_completeness"})


def deliveries_in_force(paths: SpiegelPaths, period: str, landed: list[DeliveryRef] | None = None) -> dict[str, str]:
    """insurer -> delivery_id in force under landing/, for the period's required insurers
    that have one (``landed``: the landing zone's complete deliveries, if already scanned)."""
    landed = complete_deliveries(paths.landing) if landed is None else landed
    found = {insurer: in_force(landed, period, insurer) for insurer in required_insurers(period)}
    return {insurer: ref.delivery_id for insurer, ref in found.items() if ref is not None}


def _latest_materialization(instance: dg.DagsterInstance, asset: dg.AssetKey, partition: str):
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset, asset_partitions=[partition]), limit=1
    ).records
    return records[0] if records else None


def _metadata_value(record, key: str):
    value = record.asset_materialization.metadata.get(key)
    return getattr(value, "value", value)


def _latest_gating(instance: dg.DagsterInstance, period: str, insurer: str):
    """The latest ``delivery`` materialization of (period, insurer): its last gating."""
    return _latest_materialization(instance, DELIVERY_ASSET, str(delivery_key(period, insurer)))


def _previous_computation(instance: dg.DagsterInstance, period: str):
    """The latest computation (``release_readiness``) of the version before ``period`` (§10),
    whose index the period's movement reads."""
    return _latest_materialization(instance, READINESS_ASSET, previous_period(period))


def delivery_done(instance: dg.DagsterInstance, period: str, insurer: str, delivery_id: str | None) -> bool:
    """True when ``delivery_id`` (None: nothing in force) needs no ingestion run."""
    record = _latest_gating(instance, period, insurer)
    if record is None or record.asset_materialization is None:
        return delivery_id is None
    if _metadata_value(record, "delivery_id") != delivery_id:
        return False
    if delivery_id is None:
        return True  # its absence is recorded; no configuration changes that
    partition = str(delivery_key(period, insurer))
    evaluated = {
        evaluation.check_name
        for entry in instance.all_logs(record.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
        if entry.dagster_event is not None
        for evaluation in [entry.dagster_event.event_specific_data]
        # a period's ingestion run evaluates the checks of several partitions
        if evaluation.partition in (None, partition)
    }
    return DELIVERY_CHECK_NAMES <= evaluated and record.timestamp >= gate_configuration_changed_at().timestamp()


def period_done(
    instance: dg.DagsterInstance,
    period: str,
    deliveries: dict[str, str],
    method_version: str,
    register: str | None = None,
) -> bool:
    """True when the period's latest computation used exactly ``deliveries`` (insurer ->
    delivery_id) and ``method_version`` (``dbt_project.target_fingerprint``), after each of
    those deliveries was last gated, and saw ``register`` (the newest practice register
    delivery, ``zone.newest_register``; None: none landed)."""
    record = _latest_materialization(instance, READINESS_ASSET, period)
    if record is None or record.asset_materialization is None:
        return False
    used = _metadata_value(record, "deliveries")
    if not isinstance(used, dict) or dict(used) != deliveries:
        return False
    if _metadata_value(record, "method_version") != method_version:
        return False
    if (_metadata_value(record, "practice_register") or None) != register:
        return False
    for insurer in deliveries:
        gated = _latest_gating(instance, period, insurer)
        if gated is not None and gated.timestamp > record.timestamp:
            return False
    previous = _previous_computation(instance, period)
    return previous is None or previous.timestamp <= record.timestamp


def period_inputs_key(
    instance: dg.DagsterInstance,
    period: str,
    deliveries: dict[str, str],
    method_version: str,
    register: str | None = None,
) -> str:
    """A short key of what a computation of ``period`` would use: the deliveries, the
    method version, when each delivery was last gated, the newest practice register
    delivery and the previous version's latest computation (a sensor's run key)."""
    gated = []
    for insurer in sorted(deliveries):
        record = _latest_gating(instance, period, insurer)
        gated.append(record.storage_id if record is not None else None)
    inputs = (sorted(deliveries.items()), method_version, gated)
    text = repr(inputs if register is None else (*inputs, register))
    previous = _previous_computation(instance, period)
    if previous is not None:  # keys of periods without a computed previous version stay as they were
        text += f"|previous={previous.storage_id}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]
