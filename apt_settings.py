"""Every setting of the project, read from ``APT_*`` environment variables once and validated.

This is the only module that reads them. A bad value stops start-up with a message that
names the variable and says what is expected. ``docs/settings.md`` documents each one (a
test keeps the two in step).

    python -m apt_settings          # the values in force (secrets masked)
    python -m apt_settings --env    # the same as shell assignments, for a plain `rasa run`

Rasa reads ``endpoints.yml`` and ``credentials.yml`` itself and expands ``${APT_...}`` in
them from the environment; :meth:`Settings.rasa_environment` gives those variables their
values (``make run`` passes them to every process it starts).
"""

from __future__ import annotations

import os
import re
import secrets
import sys
import time
from functools import cache
from pathlib import Path
from typing import Dict, List, Optional

from pydantic import BaseSettings, Field, SecretStr, ValidationError, validator

ROOT = Path(__file__).resolve().parent
SECRETS_DIRECTORY = ROOT / "var"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
PROFILES = ("embedded", "scale")
ALLOCATORS = ("jemalloc", "system")
# A scheme, a host and perhaps a port: nothing that could break out of a header or attribute.
PUBLIC_URL = re.compile(r"^https?://(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::[0-9]{1,5})?$")


class SettingsError(RuntimeError):
    """A setting has a value the project cannot run with; the message names the variable."""


class Settings(BaseSettings):
    host: str = Field("127.0.0.1", description="interface of the Rasa server and the demo page")
    rasa_port: int = Field(5005, ge=1, le=65535, description="port of the Rasa server")
    rasa_workers: int = Field(
        2,
        ge=1,
        le=16,
        description="Rasa server processes (replicas in the scale profile), each loading the model",
    )
    allocator: str = Field(
        "jemalloc",
        description="memory allocator of the Rasa processes: jemalloc (Debian's libjemalloc2, when "
        "the machine has it; else the system's) or system",
    )
    profile: str = Field(
        "embedded",
        description="embedded (one machine, SQLite, file locks) or scale (replicas behind nginx, "
        "PostgreSQL, Redis)",
    )
    replica_port: int = Field(
        5010, ge=1, le=65535, description="scale profile: replica i listens on 127.0.0.1:<replica_port + i>"
    )
    redis_url: str = Field(
        "redis://127.0.0.1:6379/0", description="scale profile: the Redis server of the conversation locks"
    )
    database_timeout: float = Field(
        3, gt=0, le=60, description="seconds a database connection or statement may take before it fails"
    )
    spool_directory: Path = Field(
        ROOT / "var" / "spool", description="where turns wait while the database is unreachable"
    )
    actions_port: int = Field(5055, ge=1, le=65535, description="action server port (on 127.0.0.1 only)")
    model: Path = Field(ROOT / "models" / "apt.tar.gz", description="the trained model")
    knowledge_base: Path = Field(
        ROOT / "content" / "knowledge" / "apt.yml", description="the knowledge base file"
    )
    database_url: str = Field(
        f"sqlite:///{ROOT / 'var' / 'apt.db'}",
        description="the project's database (any SQLAlchemy URL)",
    )
    lock_directory: Path = Field(
        ROOT / "var" / "locks", description="where the Rasa workers' conversation locks live"
    )
    web_port: int = Field(8080, ge=1, le=65535, description="port of the demo page")
    rasa_public_url: str = Field(
        "",
        description="the Rasa server's address as visitors' browsers reach it, e.g. "
        "https://chat.example.org: the demo page's widget connects there and its "
        "Content-Security-Policy allows it (default http://<host>:<rasa_port>)",
    )
    allowed_origins: str = Field(
        "", description="browser origins the widget may connect from, comma-separated"
    )
    review_host: str = Field("127.0.0.1", description="interface of the staff workspace")
    review_port: int = Field(8081, ge=1, le=65535, description="port of the staff workspace")
    review_secret_key: Optional[SecretStr] = Field(
        None,
        description="signs the workspace's session cookies "
        "(default: generated at first start and kept in var/review-secret-key)",
    )
    review_secure_cookie: Optional[bool] = Field(
        None,
        description="send staff session cookies over HTTPS only (default on; make run turns it off "
        "when it serves the workspace itself over plain HTTP on a loopback address)",
    )
    rasa_jwt_secret: Optional[SecretStr] = Field(
        None, description="switches Rasa's HTTP API on, behind JWTs signed with this secret"
    )
    actions_secret: Optional[SecretStr] = Field(
        None,
        description="shared secret the Rasa server shows the action server on every call "
        "(default: generated at first start and kept in var/actions-secret)",
    )
    session_secret: Optional[SecretStr] = Field(
        None,
        description="signs the widget's conversation tokens "
        "(default: generated at first start and kept in var/session-secret)",
    )
    rate_limit: str = Field(
        "30/minute",
        description="messages one client address may send per Rasa worker process (REST and widget)",
    )
    ready_timeout: float = Field(300, gt=0, description="seconds to wait for the servers to answer")
    sources_dir: Path = Field(
        ROOT.parent / "shared" / "seeds",
        description="the APT's source texts, for the tests that check the knowledge base",
    )

    class Config:
        env_prefix = "APT_"
        case_sensitive = False

    @validator("model", "knowledge_base", "lock_directory", "sources_dir", "spool_directory")
    def _relative_to_project(cls, value: Path) -> Path:  # noqa: N805 (pydantic validator)
        return value if value.is_absolute() else ROOT / value

    @validator("rasa_jwt_secret")
    def _long_secret(cls, value: Optional[SecretStr]) -> Optional[SecretStr]:  # noqa: N805
        if value is not None and not value.get_secret_value():
            return None
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must have at least 32 characters")
        return value

    @validator("profile")
    def _profile(cls, value: str) -> str:  # noqa: N805
        if value not in PROFILES:
            raise ValueError(f"{value!r} is not one of {', '.join(PROFILES)}")
        return value

    @validator("allocator")
    def _allocator(cls, value: str) -> str:  # noqa: N805
        if value not in ALLOCATORS:
            raise ValueError(f"{value!r} is not one of {', '.join(ALLOCATORS)}")
        return value

    @validator("redis_url")
    def _redis_url(cls, value: str) -> str:  # noqa: N805
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"{value!r} is not a Redis URL such as redis://127.0.0.1:6379/0")
        return value

    @validator("rate_limit")
    def _rate(cls, value: str) -> str:  # noqa: N805
        from limits import parse

        try:
            parse(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a rate such as 30/minute") from None
        return value

    @validator("review_secret_key", "actions_secret", "session_secret")
    def _empty_key_is_unset(cls, value: Optional[SecretStr]) -> Optional[SecretStr]:  # noqa: N805
        return value if value is not None and value.get_secret_value() else None

    @validator("database_url")
    def _sqlalchemy_url(cls, value: str) -> str:  # noqa: N805
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            make_url(value)
        except ArgumentError as error:
            raise ValueError(f"not a database URL ({error})") from None
        return value

    @validator("allowed_origins")
    def _origins(cls, value: str) -> str:  # noqa: N805
        for origin in (o.strip() for o in value.split(",")):
            if origin and origin != "*" and not origin.startswith(("http://", "https://")):
                raise ValueError(f"{origin!r} is not an origin such as https://www.apt.ch")
        return value

    @validator("rasa_public_url")
    def _public_url(cls, value: str) -> str:  # noqa: N805
        value = value.strip().rstrip("/")
        if value and not PUBLIC_URL.match(value):
            raise ValueError(f"{value!r} is not an address such as https://chat.example.org")
        return value

    # -- derived values -----------------------------------------------------------------------

    def origins(self) -> List[str]:
        """The widget's allowed origins: the setting, else the demo page's own."""
        chosen = [o.strip() for o in self.allowed_origins.split(",") if o.strip()]
        return chosen or [f"http://127.0.0.1:{self.web_port}", f"http://localhost:{self.web_port}"]

    def rasa_url(self) -> str:
        """Where browsers reach the Rasa server: the setting, else the Rasa server's own
        interface and port (this machine's loopback address when it listens on all)."""
        if self.rasa_public_url:
            return self.rasa_public_url
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"  # an IPv6 address
        return f"http://{host}:{self.rasa_port}"

    def secure_cookie(self) -> bool:
        """On unless set off: a workspace behind a TLS proxy may well listen on loopback."""
        return True if self.review_secure_cookie is None else self.review_secure_cookie

    def secret(self, name: str) -> str:
        """The secret setting ``name`` (``review_secret_key``, ``actions_secret``,
        ``session_secret``), else a random one generated once and kept in ``var/<name>``,
        readable by its owner only, so that every process and every restart agree on it."""
        value = getattr(self, name)
        if value is not None:
            return str(value.get_secret_value())
        path = SECRETS_DIRECTORY / name.replace("_", "-")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return _written(path)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
        return _written(path)

    def jwt_secret(self) -> str:
        return self.rasa_jwt_secret.get_secret_value() if self.rasa_jwt_secret else ""

    def rasa_environment(self) -> Dict[str, str]:
        """The variables that endpoints.yml and credentials.yml expand with ``${...}``."""
        return {
            "APT_ACTIONS_PORT": str(self.actions_port),
            "APT_ACTIONS_SECRET": self.secret("actions_secret"),
            "APT_ALLOWED_ORIGINS": ",".join(self.origins()),
        }

    def shown(self) -> Dict[str, str]:
        """Every setting as its environment variable, secrets masked."""
        shown: Dict[str, str] = {}
        for name, value in self.dict().items():
            if isinstance(value, SecretStr):
                text = "(set)"
            elif value is None:
                text = "(unset)"
            else:
                text = str(value)
            shown[f"APT_{name.upper()}"] = text
        return shown


def _written(path: Path) -> str:
    """A generated secret, once the process that created its file has written it."""
    for _ in range(100):
        value = path.read_text().strip()
        if value:
            return value
        time.sleep(0.01)
    raise SettingsError(f"{path} is empty: delete it, and a new secret is generated at the next start")


def _explain(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        name = f"APT_{str(problem['loc'][0]).upper()}"
        lines.append(f"{name}: {problem['msg']}")
    return "invalid setting: " + "; ".join(lines)


def load() -> Settings:
    """Settings from the environment, or SettingsError naming the bad variables."""
    try:
        # pydantic fills every field from the environment or its default.
        return Settings()  # type: ignore[call-arg]
    except ValidationError as error:
        raise SettingsError(_explain(error)) from None


@cache
def settings() -> Settings:
    """The process's settings, read from the environment on first use."""
    return load()


def main(argv: Optional[List[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        current = load()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args == ["--env"]:
        values = {**current.shown(), **current.rasa_environment()}
        for name, value in values.items():
            if value not in ("(set)", "(unset)"):
                print(f"export {name}='{value}'")
        return 0
    if args:
        print("usage: python -m apt_settings [--env]", file=sys.stderr)
        return 2
    for name, value in current.shown().items():
        print(f"{name:26} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
