"""Outside systems, each behind one module with a fake for the tests."""
