"""The policy report's quantitative claims, checked against the data."""
