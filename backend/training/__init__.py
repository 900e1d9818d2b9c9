"""Training: food-safety training sessions for workshop staff and who attended."""
