"""The supervisord configuration for a list of programs (:mod:`supervision.programs`).

Each server process is a supervisor program: restarted as soon as it exits unexpectedly,
while the others keep serving; a process that dies within its ``startsecs`` is retried after
1, 2, 3 ... seconds and given up after ``startretries`` failures in a row (state FATAL, which
the launcher reports). A program with a liveness check also gets an ``httpok`` event
listener (superlance) that restarts it when its URL stops answering: a hung process does not
exit. Stopping sends SIGTERM to the process group and SIGKILL after ``stopwaitsecs``.

Programs of one ``group`` (the embedded profile's Rasa processes) are one ``fcgi-program``:
supervisord opens their listening socket itself and hands it to each as standard input, and
keeps it open while any of them runs (server/patches/shared_port.py). They do not start with
supervisord: the launcher starts those that are not spares (scripts/serve.py).

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


def _section(header: str, program: Program, head: List[str], autostart: bool = True) -> str:
    """One program's section (or a group's, with ``program`` standing for all of them)."""
    output = "/dev/null" if program.quiet else "/dev/stdout"
    lines = [
        f"[{header}]",
        *head,
        f"directory={ROOT}",
        f"autostart={'true' if autostart else 'false'}",
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
    return "\n".join(lines) + "\n"


def _group_section(group: str, members: List[Program]) -> str:
    """The ``fcgi-program`` of processes sharing one socket: named ``<group>_<n>``, the same
    command and settings, started by the launcher (scripts/serve.py), not by supervisord."""
    first = members[0]
    expected = [f"{group}_{n}" for n in range(len(members))]
    if [m.name for m in members] != expected or any(
        (m.command, m.environment, m.socket) != (first.command, first.environment, first.socket)
        for m in members
    ):
        raise ValueError(
            f"the programs of group {group} must be {', '.join(expected)}, alike but for the name"
        )
    head = [
        f"command={_command(first.command)}",
        f"socket={first.socket}",
        f"numprocs={len(members)}",
        f"process_name={group}_%(process_num)d",
    ]
    return _section(f"fcgi-program:{group}", first, head, autostart=False)


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
    grouped: Dict[str, List[Program]] = {}
    for program in programs:
        if program.group is not None:
            grouped.setdefault(program.group, []).append(program)
    for program in programs:
        if program.group is not None:
            if grouped[program.group][0] is program:
                sections.append(_group_section(program.group, grouped[program.group]))
            continue
        sections.append(
            _section(f"program:{program.name}", program, [f"command={_command(program.command)}"])
        )
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
