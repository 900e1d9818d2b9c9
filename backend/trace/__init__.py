"""Traceability: the trace graph, recall reports, EPCIS 2.0 export (see DOMAIN.md)."""
