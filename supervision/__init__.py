"""Keeping the stack's processes running: supervisord (from PyPI) starts every server, restarts
one that dies or hangs while the others keep serving, and stops them all together.

- :mod:`supervision.programs`: what runs, in either profile (embedded or scale).
- :mod:`supervision.supervisor_conf`, :mod:`supervision.nginx_conf`: their configuration files,
  written by the launcher (scripts/serve.py) into ``var/run/<rasa port>/``.
- :mod:`supervision.control`: the running supervisord's view of its processes.

    .venv/bin/python -m supervision status            # every process and its state
    .venv/bin/python -m supervision restart rasa_0    # one process, the others keep serving
"""
