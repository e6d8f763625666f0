"""korus-trade: reproducible analysis of U.S. goods trade with South Korea (and any partner).

Keep this module free of heavy imports: command-line helpers such as
``python -m analysis.partners`` are called by the Makefile and must start fast.
"""

__version__ = "0.1.0"
