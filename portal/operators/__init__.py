"""The operators' staff area: the release page of each period (/beheer/vrijgave/), where an
operator (staff with a second factor) signs a period off and another one publishes it, each
act launched as the platform's Dagster job (docs/release-four-eyes.md)."""
