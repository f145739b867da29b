"""The audit service: an append-only, hash-chained record of every step of every unit."""
