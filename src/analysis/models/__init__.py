"""Models: seasonal adjustment, segmented trends, break tests, counterfactual, comparison designs."""
