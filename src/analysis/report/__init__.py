"""Report: figures, result tables and text, publishing (HTML), templates."""
