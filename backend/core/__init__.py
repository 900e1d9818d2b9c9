"""Pieces every feature shares: the declarative base, column types, time and errors."""
