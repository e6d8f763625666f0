"""Pipeline machinery: running notebooks with papermill, deriving make dependencies."""
