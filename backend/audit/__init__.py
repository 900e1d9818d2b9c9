"""Audit: who did what, when, for the regulator and for disputes."""
