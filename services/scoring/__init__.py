"""Scoring: evaluates declarations against the rulebooks in rules/ with durable_rules."""
