"""Batches: what was made on a day from which raw lots, with which additives, and the state
machine that releases, holds and recalls it."""
