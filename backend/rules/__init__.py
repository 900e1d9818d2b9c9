"""The rule base: food-safety limits and additive rules as sourced data (standard with year,
clause), the judge of every result and additive use, and non-food substance reports."""
