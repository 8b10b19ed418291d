"""Persistence shared by the Rasa server, the actions and the staff workspace: the project's
database, the redacting tracker store, conversation summaries and retention."""
