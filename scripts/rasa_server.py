"""``rasa run`` with the HTTP API switched on only when a JWT secret is in the environment.

Rasa takes the secret only as a command-line argument, which every local user can read in
the process list; this wrapper adds it inside the process instead. With
``APT_RASA_JWT_SECRET`` set, the API (tracker read and write, model load, ...) answers only
requests carrying ``Authorization: Bearer <JWT signed with the secret>``: role ``admin`` may
call everything, role ``user`` only the conversation whose id is its username (see
``scripts/api_token.py``). Without it, the API stays off and only the chat channels answer.
"""

import os
import sys

from rasa.__main__ import main

if __name__ == "__main__":
    secret = os.environ.get("APT_RASA_JWT_SECRET", "")
    sys.argv = ["rasa", "run", *sys.argv[1:]]
    if secret:
        sys.argv += ["--enable-api", "--jwt-secret", secret, "--jwt-method", "HS256"]
    main()
