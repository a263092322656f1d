"""From a computed period to a published release: readiness, the data-quality sign-off,
publishing and the calendar state the portal reads."""
