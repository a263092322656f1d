"""Helpers the tests share: hand-made deliveries, the platform driven through its CLI,
independent references of the method, and the portal's test world. Imported as
``tests.support.<module>`` (pytest puts the repository on the path: tests/ is a package)."""
