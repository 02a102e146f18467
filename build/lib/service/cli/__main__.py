"""``python -m service.cli``: the same ``aidj`` command line, from any Python that has the package."""

from service.cli import main

main()
