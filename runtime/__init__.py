"""Adjustments to the Rasa server process, applied by ``scripts/rasa_server.py`` before Rasa
starts. Each one changes how fast Rasa does something, never what it answers."""
