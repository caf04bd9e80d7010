"""``python -m pluma_core`` is the ``pluma`` command."""

from pluma_core.cli import main

main()
