"""Workflow: one durable Temporal lifecycle workflow per unit and designation, and the staff API."""
