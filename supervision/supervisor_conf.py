"""The supervisord configuration for a list of programs (:mod:`supervision.programs`).

Each server process is a supervisor program: restarted as soon as it exits unexpectedly,
while the others keep serving; a process that dies within its ``startsecs`` is retried after
1, 2, 3 ... seconds and given up after ``startretries`` failures in a row (state FATAL, which
the launcher reports). A program with a liveness check also gets an ``httpok`` event
listener (superlance) that restarts it when its URL stops answering: a hung process does not
exit. Stopping sends SIGTERM to the process group and SIGKILL after ``stopwaitsecs``.

Every program's output goes to supervisord's standard output (the launcher copies it to its
own; ``/dev/stdout`` must be a pipe, since a file opened twice would be overwritten). The
file holds no secret: they reach the processes through the environment supervisord inherits.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Dict, List

from apt_settings import ROOT
from supervision.programs import BIN, Program

STOP_WAIT_SECONDS = 20  # the longest any program is given to stop


def _command(words: List[str]) -> str:
    # supervisor expands %(...)s in commands: a literal % must be doubled.
    return " ".join(shlex.quote(word) for word in words).replace("%", "%%")


def _environment(values: Dict[str, str]) -> str:
    return ",".join(f'{key}="{value}"' for key, value in values.items())


def render(programs: List[Program], run_directory: Path) -> str:
    sections = [
        f"""[supervisord]
nodaemon=true
logfile=/dev/null
logfile_maxbytes=0
pidfile={run_directory / "supervisord.pid"}
childlogdir={run_directory}
loglevel=info

[unix_http_server]
file={run_directory / "supervisor.sock"}
chmod=0700

[supervisorctl]
serverurl=unix://{run_directory / "supervisor.sock"}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
"""
    ]
    for program in programs:
        output = "/dev/null" if program.quiet else "/dev/stdout"
        lines = [
            f"[program:{program.name}]",
            f"command={_command(program.command)}",
            f"directory={ROOT}",
            "autostart=true",
            "autorestart=unexpected",
            "exitcodes=0",
            f"startsecs={program.start_seconds}",
            f"startretries={program.start_retries}",
            "stopsignal=TERM",
            f"stopwaitsecs={program.stop_seconds}",
            "stopasgroup=true",
            "killasgroup=true",
            f"stdout_logfile={output}",
            "stdout_logfile_maxbytes=0",
            "redirect_stderr=true",
        ]
        if program.environment:
            lines.append(f"environment={_environment(program.environment)}")
        sections.append("\n".join(lines) + "\n")
        if program.liveness is not None:
            check = program.liveness
            httpok = [str(BIN / "httpok"), "-p", program.name, "-t", str(check.timeout), "-c", "200"]
            httpok.append(check.url)
            sections.append(
                "\n".join(
                    [
                        f"[eventlistener:{program.name}_liveness]",
                        f"command={_command(httpok)}",
                        f"events=TICK_{check.every}",
                        f"directory={ROOT}",
                        "autorestart=true",
                        "stdout_logfile=/dev/null",  # the event protocol
                        "stderr_logfile=/dev/stdout",  # what it did, e.g. a restart
                        "stderr_logfile_maxbytes=0",
                    ]
                )
                + "\n"
            )
    return "\n".join(sections)
