"""``python -m medlib.render PARAMS [options]`` runs the ``report`` command."""

from medlib.render.cli import main

main()
