"""The project's input channels, named in credentials.yml: Rasa's REST and socket.io channels
behind the edge checks every message passes (:mod:`server.channels.edge`).

Importing them installs nothing: the patches of Rasa's internals are installed by the
server's entry point (``scripts/rasa_server.py``, :mod:`server.patches`).
"""
