"""Cleaning: the Census table validated and reshaped into the tidy monthly table, and partner series."""
