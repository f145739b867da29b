"""The four deployable services: intake, scoring, workflow, notify. None imports another."""
