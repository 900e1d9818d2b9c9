"""Quality: the standards table, sampling and test results, inspections and hazards."""
