"""The lifecycle's pure core: policy, state, tasks and transitions. No Temporal, NATS or database here."""
