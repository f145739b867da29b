"""greenfab's shared contracts: every message, HTTP body, NATS subject and stream name.

Services import this package and never import each other.
"""
