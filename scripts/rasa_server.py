"""``rasa run`` with the project's adjustments, and the HTTP API only when a JWT secret is set.

Rasa takes the secret only as a command-line argument, which every local user can read in
the process list; this wrapper adds it inside the process instead. With the setting
``APT_RASA_JWT_SECRET``, the API (tracker read and write, model load, ...) answers only
requests carrying ``Authorization: Bearer <JWT signed with the secret>``: role ``admin`` may
call everything, role ``user`` only the conversation whose id is its username (see
``scripts/api_token.py``). Without it, the API stays off and only the chat channels answer.

The adjustments in ``runtime/`` are installed before Rasa starts (after their version check);
the channels package would install them too (see runtime/__init__.py).

``--shared-port`` (the launcher's embedded profile) lets several of these processes serve the
same ``--interface``/``--port`` (runtime/shared_port.py), each closing HTTP connections after
their answer so that requests spread over them.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # scripts/ is not a package

from rasa.__main__ import main  # noqa: E402

import runtime  # noqa: E402
from apt_settings import SettingsError, settings  # noqa: E402

if __name__ == "__main__":
    try:
        secret = settings().jwt_secret()
        runtime.install()
    except (SettingsError, runtime.compat.UnsupportedVersion) as error:
        sys.exit(f"error: {error}")
    arguments = sys.argv[1:]
    if "--shared-port" in arguments:
        arguments.remove("--shared-port")
        runtime.share_port(
            arguments[arguments.index("--interface") + 1], int(arguments[arguments.index("--port") + 1])
        )
    sys.argv = ["rasa", "run", *arguments]
    if secret:
        sys.argv += ["--enable-api", "--jwt-secret", secret, "--jwt-method", "HS256"]
    main()
