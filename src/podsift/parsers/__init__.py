"""Parsers: bytes in, podsift's models out. None of them does I/O."""
