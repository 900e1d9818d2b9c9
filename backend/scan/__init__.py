"""Scan: what a consumer sees when scanning a code, recorded and counted, by every channel
(the H5 page, the mini-program, GS1 Digital Link)."""
