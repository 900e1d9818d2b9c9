"""Fault tests: real Redis, PostgreSQL and Celery processes stopped and killed on loopback."""
