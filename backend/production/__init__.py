"""Production: raw material lots, batches and their state machine, ledgers, sales."""
