"""How dagster-dbt names and groups the dbt project's nodes (shared by the method and
the configuration assets)."""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

from orchestration.core.partitions import period_of_delivery
from orchestration.core.settings import METHOD_OWNER


class SpiegelDbtTranslator(DagsterDbtTranslator):
    """Raw sources are the ``delivery`` asset; groups follow the dbt layer."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source" and dbt_resource_props["source_name"] == "raw":
            return dg.AssetKey("delivery")
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "configuration"
        fqn = dbt_resource_props.get("fqn", [])
        layer = fqn[1] if len(fqn) > 2 else "method"
        return f"method_{layer}"

    def get_owners(self, dbt_resource_props: Mapping[str, Any]):
        return [METHOD_OWNER]

    def get_partition_mapping(self, dbt_resource_props, dbt_parent_resource_props):
        if dbt_parent_resource_props.get("resource_type") == "source":
            return period_of_delivery
        return None


translator = SpiegelDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_duplicate_source_asset_keys=True))
