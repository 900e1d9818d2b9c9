"""Samples: rapid screens and lab tests of a batch or a workshop's self-check, their results
judged against the rule base, holds on a positive screen, reports and announcements."""
