"""What several test folders share: the running stack, databases, commands and trackers.

The fixtures built on them are in ``tests/conftest.py``; each folder's own in its
``conftest.py``."""
