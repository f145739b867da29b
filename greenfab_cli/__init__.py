"""The greenfab command and the stack launcher: the shell above the services.

It may import every service (to run, migrate and describe them); the shared package `greenfab/` below the
services imports none of them, and no service imports this package.
"""
