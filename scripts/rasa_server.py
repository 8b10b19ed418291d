"""``rasa run`` with the project's adjustments, and the HTTP API only when a JWT secret is set.

Rasa takes the secret only as a command-line argument, which every local user can read in
the process list; this wrapper adds it inside the process instead. With the setting
``APT_RASA_JWT_SECRET``, the API (tracker read and write, model load, ...) answers only
requests carrying ``Authorization: Bearer <JWT signed with the secret>``: role ``admin`` may
call everything, role ``user`` only the conversation whose id is its username (see
``scripts/api_token.py``). Without it, the API stays off and only the chat channels answer.

The adjustments in ``runtime/`` are installed before Rasa starts (after their version check);
the channels package would install them too (see runtime/__init__.py).

``--shared-socket READY_DIRECTORY`` (the launcher's embedded profile): serve on the listening
socket the supervisor passes as standard input, shared by several of these processes
(runtime/shared_port.py), each closing HTTP connections after their answer so that requests
spread over them, and marking itself ready in READY_DIRECTORY once its model is loaded.
``--interface`` and ``--port`` then only name that socket's address in Rasa's messages.
"""

import sys
from pathlib import Path

from runtime.lean_imports import skip_unused  # noqa: E402

skip_unused()  # before TensorFlow is imported (runtime/lean_imports.py)

from rasa.__main__ import main  # noqa: E402

import runtime  # noqa: E402
from apt_settings import SettingsError, settings  # noqa: E402
from runtime.log_redaction import redact_standard_streams  # noqa: E402

if __name__ == "__main__":
    redact_standard_streams()
    try:
        secret = settings().jwt_secret()
        runtime.install()
    except (SettingsError, runtime.compat.UnsupportedVersion) as error:
        sys.exit(f"error: {error}")
    arguments = sys.argv[1:]
    if "--shared-socket" in arguments:
        at = arguments.index("--shared-socket")
        ready_directory = Path(arguments[at + 1])
        del arguments[at : at + 2]
        try:
            runtime.share_socket(ready_directory)
        except (ValueError, OSError) as error:
            sys.exit(f"error: --shared-socket: {error} (the supervisor passes the socket)")
    sys.argv = ["rasa", "run", *arguments]
    if secret:
        sys.argv += ["--enable-api", "--jwt-secret", secret, "--jwt-method", "HS256"]
    main()
