"""Registry: the zone, its brands, filed workshops, their staff, suppliers and products."""
