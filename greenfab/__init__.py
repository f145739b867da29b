"""greenfab's shared infrastructure (settings, database, messaging, auth, HTTP) and its CLI.

Nothing here is built at import time: callers build brokers and engines in their composition roots.
"""
