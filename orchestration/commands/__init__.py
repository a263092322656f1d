"""The commands of the ``spiegel`` CLI on top of the stages: status, generate, run,
release, demo, ui, bench, portal, and the synthetic deliveries."""
