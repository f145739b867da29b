"""Audit's pure core: what a message says for the record, how records chain, how a chain is checked."""
