"""Codes: one product, one code — issuing unit codes, labels and consumer scans."""
