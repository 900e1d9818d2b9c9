"""Codes: one product, one code — issuing and voiding unit codes, their QR labels and print jobs."""
