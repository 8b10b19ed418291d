"""Everything that runs inside the Rasa server process and builds on Rasa's own classes:

- :mod:`server.channels`: the chat channels (REST, socket.io) and their edge checks;
- :mod:`server.components`: the project's NLU steps (personal data masked, entity guard,
  language), named in config.yml;
- :mod:`server.nlg`: the response generator answering in the conversation's language;
- :mod:`server.health`: ``GET /health``;
- :mod:`server.patches`: the replacements of private Rasa functions, each behind the version
  guard (:mod:`rasa_versions`), installed by the entry point ``scripts/rasa_server.py``
  (and, for training, by ``scripts/train.py``) and nowhere else.

The conversation log's Rasa adapter is ``storage.tracker_store``, beside the SQL it runs.
"""
