"""How runs happen: jobs, the code location's resources, the sensors, the in-process
runner of the CLI, stale-run handling, and the one answer to \"is this done?\"."""
