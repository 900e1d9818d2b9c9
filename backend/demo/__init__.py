"""Demo data for the Banli zone, built from its public facts."""
