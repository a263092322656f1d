"""The landing zone: where insurers' delivery folders arrive, and which one is in force."""
