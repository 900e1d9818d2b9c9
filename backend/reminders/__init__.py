"""Reminders: WeChat subscribe messages for incomplete ledgers and expiring certificates."""
