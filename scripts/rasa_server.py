"""``rasa run`` with the HTTP API switched on only when a JWT secret is in the environment.

Rasa takes the secret only as a command-line argument, which every local user can read in
the process list; this wrapper adds it inside the process instead. With
``APT_RASA_JWT_SECRET`` set, the API (tracker read and write, model load, ...) answers only
requests carrying ``Authorization: Bearer <JWT signed with the secret>``: role ``admin`` may
call everything, role ``user`` only the conversation whose id is its username (see
``scripts/api_token.py``). Without it, the API stays off and only the chat channels answer.

Before Rasa starts, the speed-ups in ``runtime/`` are installed (they change no answer).
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # scripts/ is not a package

from rasa.__main__ import main  # noqa: E402

from runtime import action_response_validation, event_types, one_request_per_connection  # noqa: E402

if __name__ == "__main__":
    action_response_validation.install()
    event_types.install()
    if int(os.environ.get("SANIC_WORKERS", "1")) > 1:
        one_request_per_connection.install()
    secret = os.environ.get("APT_RASA_JWT_SECRET", "")
    sys.argv = ["rasa", "run", *sys.argv[1:]]
    if secret:
        sys.argv += ["--enable-api", "--jwt-secret", secret, "--jwt-method", "HS256"]
    main()
