"""The core every stage stands on: settings from the environment, the seeds and labels
that are configuration, the warehouse connection and its lock, the partitions of the
data's path, crash points. It imports nothing else of the platform."""
