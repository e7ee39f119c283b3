"""podsift: scans your podcasts and sends you the top 5 insights of the day."""

__version__ = "0.1.0"
