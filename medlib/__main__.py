"""``python -m medlib`` runs the command line."""

from medlib.cli import main

main()
