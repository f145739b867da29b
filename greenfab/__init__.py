"""greenfab's shared floor (settings, database, messaging, auth, HTTP, migrations): it imports no service.

Nothing here is built at import time: callers build brokers and engines in their composition roots.
"""
