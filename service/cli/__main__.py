"""``python -m fewlat.service.cli`` runs the ``fewlat`` command line."""

from fewlat.service.cli import main

main()
