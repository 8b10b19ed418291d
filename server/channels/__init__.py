"""The project's input channels, named in credentials.yml.

Rasa imports this package while it builds its channels, before it builds its web app, however
it is started (``make run``, ``rasa run``, ``rasa shell``): so this is where the process's
adjustments of Rasa internals are installed (:mod:`runtime`, behind its version check).
"""

import runtime

runtime.install()
