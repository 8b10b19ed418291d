"""The scale profile's nginx configuration: the one public address of the Rasa replicas.

- Requests go to the replica with the fewest open connections (``least_conn``); a visitor's
  widget socket stays on the replica it opened on (one WebSocket per visitor, upgraded here);
  the REST channel's messages may land on any replica, the lock store keeps one
  conversation's messages in order (``storage/redis_lock_store.py``).
- Health, passively (open-source nginx has no active checks): a replica that refuses or
  resets a connection is set aside for ``FAIL_TIMEOUT`` seconds and the request is sent to
  another one. A POST that already reached a replica which then died is sent again too
  (``non_idempotent``), so a visitor sees no error when a replica is killed mid-answer; if
  that replica had already stored the turn, the log shows it twice (the lock makes the second
  copy wait for the first, never interleave). A replica that hangs is restarted by its
  liveness check (supervision/programs.py).
- The rate limit of ``APT_RATE_LIMIT`` is enforced here for all replicas together, per
  client address (a burst of the whole allowance, then at its pace), with a 429 and a JSON
  error; the replicas also count per process (widget sockets included), from the address
  nginx passes in ``X-Real-IP``.
- No access log: request lines carry widget session ids. Errors go to supervisord's output.

nginx inherits ``proxy_set_header`` into a ``location`` only if that location sets none of its
own: a location that sets ``Connection`` (every one here does) must repeat the others, or the
replicas see nginx's own address as every visitor's and one visitor's burst stops them all.
:data:`FORWARDED` is written into each location for that reason.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import List

from limits import parse

from apt_settings import Settings

FAIL_TIMEOUT = 10
# The request headers every proxied location sets (see the module's docstring).
FORWARDED = """proxy_set_header Host $host;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $remote_addr;"""


def nginx_rate(rate: str) -> str:
    """``APT_RATE_LIMIT`` (e.g. ``30/minute``) in nginx's units: requests per second or per
    minute, rounded up so nginx is never stricter than the replicas."""
    item = parse(rate)
    seconds = item.GRANULARITY.seconds * item.multiples
    per_second = item.amount / seconds
    if per_second >= 1 and per_second == int(per_second):
        return f"{int(per_second)}r/s"
    return f"{max(1, math.ceil(item.amount * 60 / seconds))}r/m"


def render(conf: Settings, replica_ports: List[int], run_directory: Path) -> str:
    servers = "\n".join(
        f"        server 127.0.0.1:{port} max_fails=1 fail_timeout={FAIL_TIMEOUT}s;" for port in replica_ports
    )
    listen = f"[{conf.host}]:{conf.rasa_port}" if ":" in conf.host else f"{conf.host}:{conf.rasa_port}"
    return f"""# Written by the launcher for the scale profile (supervision/nginx_conf.py).
daemon off;
worker_processes 1;
pid {run_directory / "nginx.pid"};
error_log stderr warn;

events {{
    worker_connections 4096;
}}

http {{
    access_log off;
    server_tokens off;
    client_body_temp_path {run_directory / "nginx-body"};
    proxy_temp_path {run_directory / "nginx-proxy"};
    client_max_body_size 64k;

    limit_req_zone $binary_remote_addr zone=chat:10m rate={nginx_rate(conf.rate_limit)};
    limit_req_status 429;

    upstream rasa {{
        least_conn;
{servers}
    }}

    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}

    server {{
        listen {listen} reuseport;

        proxy_http_version 1.1;
        proxy_connect_timeout 2s;
        proxy_read_timeout 75s;
        proxy_next_upstream error timeout non_idempotent;
        proxy_next_upstream_tries 3;

        location = /nginx-health {{
            default_type application/json;
            return 200 '{{"status":"ok"}}';
        }}

        location /socket.io/ {{
            {FORWARDED}
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_read_timeout 1h;
            proxy_pass http://rasa;
        }}

        location /webhooks/ {{
            limit_req zone=chat burst={parse(conf.rate_limit).amount} nodelay;
            {FORWARDED}
            proxy_set_header Connection "";
            proxy_pass http://rasa;
        }}

        location / {{
            {FORWARDED}
            proxy_set_header Connection "";
            proxy_pass http://rasa;
        }}

        error_page 429 = @too_many;
        location @too_many {{
            default_type application/json;
            return 429 '{{"error":"too many messages: please wait a moment"}}';
        }}
    }}
}}
"""
