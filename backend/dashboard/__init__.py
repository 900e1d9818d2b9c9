"""The regulators' dashboard: district figures, each one SQL aggregate (see ``overview``)."""
