"""``python -m fewlat.service.cli`` runs the ``fewlat`` command line."""

from fewlat.service.cli import main

if __name__ == "__main__":  # not when a worker process re-imports the main module
    main()
