"""rasa-sdk's action server, answering only the Rasa server.

rasa-sdk 3.6 has no authentication: anyone who reaches ``/webhook`` can run any action (a
forged tracker stored an enquiry), ``/actions`` lists them all, and an unknown route answered
500 with the request echoed. This runs the same app with:

- every request but ``GET /health`` refused with 401 unless it carries
  ``Authorization: Bearer <APT_ACTIONS_SECRET>`` (compared in constant time); endpoints.yml
  has Rasa send that header (the launcher generates the secret at first start if unset,
  see apt_settings.Settings.secret);
- 404 for unknown routes and a bare 500 for errors, with nothing of the request in them;
- no CORS (only the Rasa server calls it), bound to 127.0.0.1;
- no TensorFlow: the actions need spaCy's tokenizer and phrase matcher only, but spaCy's
  machine-learning layer (thinc) imports TensorFlow whenever it is installed, as it is for
  the Rasa server. Marking it absent before anything imports spaCy keeps this process at
  about 160 MB instead of about 520 MB (and saves seconds at start).

    python scripts/action_server.py [--port N]     # default: the setting APT_ACTIONS_PORT
"""

from __future__ import annotations

import argparse
import hmac
import logging
import sys
from typing import Optional

sys.modules.setdefault("tensorflow", None)  # type: ignore[arg-type]  # see the docstring

from rasa_sdk import utils  # noqa: E402
from rasa_sdk.endpoint import create_app  # noqa: E402
from sanic import Sanic, response  # noqa: E402
from sanic.request import Request  # noqa: E402
from sanic.response import HTTPResponse  # noqa: E402

from apt_settings import SettingsError, settings  # noqa: E402
from privacy.log_redaction import redact_standard_streams  # noqa: E402
from server.quiet_errors import answer_quietly  # noqa: E402

logger = logging.getLogger(__name__)
OPEN_PATHS = {"/health"}


def guarded_app(secret: str) -> Sanic:
    """rasa-sdk's app for the ``actions`` package, behind the shared secret."""
    app = create_app("actions", cors_origins=None)
    expected = f"Bearer {secret}".encode()

    async def require_the_secret(request: Request) -> Optional[HTTPResponse]:
        if request.path in OPEN_PATHS and request.method == "GET":
            return None
        presented = request.headers.get("authorization", "").encode("utf-8", "replace")
        if not hmac.compare_digest(presented, expected):
            return response.json({"error": "unauthorized"}, status=401)
        return None

    app.register_middleware(require_the_secret, "request")
    # rasa-sdk's CORS extension answered an OPTIONS request to any route with a 200 from its
    # error handler, before any middleware could ask for the secret. Only the Rasa server
    # calls this server, never a browser: no preflight to answer.
    cors = app.ctx.sanic_cors
    for options in [cors.options, *(resource_options for _, resource_options in cors.resources)]:
        options["automatic_options"] = False

    async def failed(_request: Request, error: Exception) -> HTTPResponse:
        logger.error("The action server failed: %s", error.__class__.__name__)
        return response.json({"error": "internal error"}, status=500)

    answer_quietly(app)
    app.error_handler.add(Exception, failed)
    return app


def main() -> int:
    redact_standard_streams()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, help="default: the setting APT_ACTIONS_PORT")
    args = parser.parse_args()
    try:
        conf = settings()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    utils.configure_colored_logging("INFO")
    app = guarded_app(conf.secret("actions_secret"))
    app.run("127.0.0.1", args.port or conf.actions_port, workers=1, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
