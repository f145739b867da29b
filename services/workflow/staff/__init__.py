"""The staff API's use cases: queries over the projections and commands to the unit workflows.

Each function here is what one route does, minus HTTP; scope checks go through greenfab.auth.
"""
