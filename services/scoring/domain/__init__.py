"""Scoring's pure core: rulebooks, scoring methods, facts and result assembly. No I/O beyond reading rule files."""
