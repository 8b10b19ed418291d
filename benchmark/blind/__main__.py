"""`python -m benchmark.blind` (`make blind`): play the blind set against a stack and print
the share of turns right per language and per kind, the second chance on clear questions
and the answer rate per kind.

Without --url it starts its own stack as `make run` does (scripts/serve.py on free ports, a
fresh SQLite database under build/blind/, the rate limit lifted: the set sends about a
thousand messages from one address) and stops every process it started. With --url it
plays against a running stack and reads the conversations from --database-url (default: the
project's database, APT_DATABASE_URL).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence

from apt_settings import settings
from benchmark import ROOT
from benchmark.blind import OUT, latest_set
from benchmark.blind.blindset import LANGUAGES, Conversation, load_set, select
from benchmark.blind.figures import figures, percent, text_lines
from benchmark.blind.names import Names
from benchmark.blind.player import Player, Stack
from benchmark.blind.replies import Wording
from benchmark.conversations import OURS_PROBE
from benchmark.processes import on_termination
from benchmark.progress import elapsed
from benchmark.servers import our_stack

PROGRESS_EVERY_S = 10.0


def say(message: str) -> None:
    print(f"[blind {elapsed()}] {message}", file=sys.stderr, flush=True)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmark.blind",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--url", help="a running stack's Rasa server (default: start one)")
    parser.add_argument("--database-url", help="with --url: its database (default: the project's)")
    parser.add_argument(
        "--set", type=Path, help="the blind set's folder (default: the newest under tests/blind/)"
    )
    parser.add_argument("--language", action="append", choices=LANGUAGES, help="only this file (repeatable)")
    parser.add_argument(
        "--kind",
        action="append",
        help="only turns of this kind (repeatable); their conversations are played whole",
    )
    parser.add_argument("--conversation", action="append", help="only this conversation id (repeatable)")
    parser.add_argument("--json", type=Path, help="write every turn's result and the figures here")
    parser.add_argument("--concurrency", type=int, default=2, help="conversations at once (default 2)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds before a request is an error")
    parser.add_argument(
        "--model", type=Path, default=ROOT / "models" / "apt.tar.gz", help="without --url: the model"
    )
    args = parser.parse_args(argv)
    if args.database_url and not args.url:
        parser.error("--database-url goes with --url")
    if args.concurrency < 1:
        parser.error("--concurrency must be positive")
    return args


@contextmanager
def own_stack(model: Path, workdir: Path = OUT / "stack") -> Iterator[Stack]:
    """scripts/serve.py on free ports with a fresh SQLite database and no rate limit
    (benchmark/servers.py), stopped at the end, also on an error or Ctrl-C."""
    if not model.is_file():
        raise FileNotFoundError(f"no trained model at {model}: run `make train` first")
    say("starting a stack (scripts/serve.py, fresh database, no rate limit)")
    with our_stack(model, workdir, OURS_PROBE, wait_for_every_server=True) as running:
        say(f"stack answered after {running.startup_s:.0f} s at {running.url}")
        yield Stack(running.url, f"sqlite:///{workdir / 'apt.db'}")
    say("stack stopped")


def play_all(
    stack: Stack,
    conversations: Sequence[Conversation],
    kinds: Optional[Sequence[str]] = None,
    concurrency: int = 2,
    timeout: float = 60.0,
) -> List[Dict[str, Any]]:
    """Every conversation played, ``concurrency`` at a time; the results in the set's order."""
    names, wording = Names(), Wording()
    names.country_code("Kenya")  # build the lookups before the threads share them
    wording.languages_of("utter_greet", "")
    player = Player(stack, names, wording, timeout)
    done: Dict[str, List[Dict[str, Any]]] = {}
    last = time.monotonic()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = {pool.submit(player.play, c, kinds): c.id for c in conversations}
        for number, future in enumerate(futures, start=1):
            done[futures[future]] = future.result()
            if time.monotonic() - last > PROGRESS_EVERY_S or number == len(futures):
                last = time.monotonic()
                results = [r for rs in done.values() for r in rs]
                right = sum(1 for r in results if r["right"])
                say(
                    f"{number}/{len(conversations)} conversations, {len(results)} turns, "
                    f"{percent(right / len(results) if results else None)} right"
                )
    return [result for c in conversations for result in done[c.id]]


def shown(path: Path) -> str:
    """A path as the report names it: from the project's root when it is inside."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def measure(
    stack: Stack,
    directory: Path,
    languages: Sequence[str] = LANGUAGES,
    kinds: Optional[Sequence[str]] = None,
    ids: Optional[Sequence[str]] = None,
    concurrency: int = 2,
    timeout: float = 60.0,
) -> Dict[str, Any]:
    """The set (or part of it) played against ``stack``: the figures and every turn."""
    conversations = select(load_set(directory, languages), kinds, ids)
    say(f"{len(conversations)} conversations of {shown(directory)}")
    results = play_all(stack, conversations, kinds, concurrency, timeout)
    return {
        "set": shown(directory),
        "figures": figures(results),
        "turns": results,
    }


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    on_termination()
    directory = (args.set or latest_set()).resolve()
    options = dict(
        languages=args.language or LANGUAGES,
        kinds=args.kind,
        ids=args.conversation,
        concurrency=args.concurrency,
        timeout=args.timeout,
    )
    if args.url:
        measured = measure(
            Stack(args.url.rstrip("/"), args.database_url or settings().database_url), directory, **options
        )
    else:
        with own_stack(args.model) as stack:
            measured = measure(stack, directory, **options)
    print("\n".join(text_lines(measured["figures"])))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(measured, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        say(f"every turn's result: {args.json}")
    errors = sum(1 for turn in measured["turns"] if turn["miss"] == "error")
    if errors:
        say(f"{errors} turns were not answered (errors): see the JSON results")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
