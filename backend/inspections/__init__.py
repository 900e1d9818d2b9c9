"""Inspections (监督检查): visits with the standard checklist, the hazards found and their
rectification."""
