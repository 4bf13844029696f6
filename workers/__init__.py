"""Streaming article enrichment: clean, tag and summarize scraped news on Kafka."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
