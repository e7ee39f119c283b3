"""`python -m podsift` runs the command line."""

from .cli import main

main()
