"""Intake: accepts declarations from any front end, validates and stores them, publishes them."""
