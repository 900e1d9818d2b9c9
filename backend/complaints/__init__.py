"""Complaints from consumers and portal visitors."""
