"""Notify: turns lifecycle events into notifications for the people who must act."""
