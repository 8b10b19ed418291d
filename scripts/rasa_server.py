"""``rasa run`` with the project's adjustments, and the HTTP API only when a JWT secret is set.

Rasa takes the secret only as a command-line argument, which every local user can read in
the process list; this wrapper adds it inside the process instead. With the setting
``APT_RASA_JWT_SECRET``, the API (tracker read and write, model load, ...) answers only
requests carrying ``Authorization: Bearer <JWT signed with the secret>``: role ``admin`` may
call everything, role ``user`` only the conversation whose id is its username (see
``scripts/api_token.py``). Without it, the API stays off and only the chat channels answer.

The patches in ``server/patches/`` are installed here, before Rasa starts (after their
version check), and nowhere else in the server: ``rasa run`` alone runs Rasa unpatched.
Another Rasa command after the script's name (``shell``, ``test``, ``interactive``) runs with
the same patches and no API (``make shell``, the test stories).

``--shared-socket READY_DIRECTORY`` (the launcher's embedded profile): serve on the listening
socket the supervisor passes as standard input, shared by several of these processes
(server/patches/shared_port.py), each closing HTTP connections after their answer so that requests
spread over them, and marking itself ready in READY_DIRECTORY once its model is loaded.
``--interface`` and ``--port`` then only name that socket's address in Rasa's messages.
"""

import sys
from pathlib import Path

from server.patches.lean_imports import skip_unused  # noqa: E402

skip_unused()  # before TensorFlow is imported (server/patches/lean_imports.py)

from rasa.__main__ import main  # noqa: E402

import rasa_versions  # noqa: E402
from apt_settings import SettingsError, settings  # noqa: E402
from privacy.log_redaction import redact_standard_streams  # noqa: E402
from server import patches  # noqa: E402

OTHER_COMMANDS = ("shell", "test", "interactive")

if __name__ == "__main__":
    redact_standard_streams()
    try:
        secret = settings().jwt_secret()
        patches.install()
    except (SettingsError, rasa_versions.UnsupportedVersion) as error:
        sys.exit(f"error: {error}")
    arguments = sys.argv[1:]
    if arguments and arguments[0] in OTHER_COMMANDS:
        sys.argv = ["rasa", *arguments]
        sys.exit(main())
    if "--shared-socket" in arguments:
        at = arguments.index("--shared-socket")
        ready_directory = Path(arguments[at + 1])
        del arguments[at : at + 2]
        try:
            patches.share_socket(ready_directory)
        except (ValueError, OSError) as error:
            sys.exit(f"error: --shared-socket: {error} (the supervisor passes the socket)")
    sys.argv = ["rasa", "run", *arguments]
    if secret:
        sys.argv += ["--enable-api", "--jwt-secret", secret, "--jwt-method", "HS256"]
    main()
