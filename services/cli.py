"""The `imgjob` command, the composition root: settings -> adapters -> services, then run them.

`up` runs everything in one process on the embedded adapters (and migrates them); each service can run
as its own process; `migrate` alone creates schema, bucket and queues on the real ones.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

from services.bootstrap import WORKERS, bootstrap, build_browser, build_services, migrate
from services.gateway.app import create_app
from services.scraper.extract import extract_command
from services.scraper.probe import probe_command
from services.scraper.providers import KNOWN_PROVIDERS
from shared import logs, metrics
from shared.config import Settings, SettingsError
from shared.ops_server import OpsPortUnavailable, OpsServer
from shared.ports import Adapters
from shared.readiness import check_worker, wait_until_ready
from shared.runtime import Runner

log = logging.getLogger("imgjob")


def _stop_on_signals(stop: Callable[[], None]) -> None:
    def handle(signum: int, frame: FrameType | None) -> None:
        log.info("received signal %d; stopping", signum)
        # Off the signal's thread: stopping a server from inside its own serve loop would deadlock.
        threading.Thread(target=stop, name="stop").start()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


def _serve_gateway(adapters: Adapters, host: str, port: int, finish: Callable[[], None]) -> None:
    """Serve until a signal; then `finish` (stop the workers, or close the adapters)."""
    from werkzeug.serving import make_server

    try:
        app = create_app(adapters)
        app.wsgi_app = logs.JobIdFromPath(app.wsgi_app)  # type: ignore[method-assign]
        server = make_server(host, port, app, threaded=True)
        _stop_on_signals(server.shutdown)
        log.info("gateway on http://%s:%d", host, server.server_port)
        server.serve_forever()
    finally:
        finish()


def _adapters() -> Adapters:
    return bootstrap(Settings.from_env())


def _start_ops(adapters: Adapters) -> OpsServer:
    """The process's /healthz, /readyz and /metrics, before anything else starts: a port that cannot
    be had ends the command (status 2) rather than leave a worker running with no health checks."""
    settings = adapters.settings
    ops = OpsServer(settings.ops_host, settings.ops_port, lambda: check_worker(adapters), metrics.REGISTRY)
    try:
        return ops.start()
    except OpsPortUnavailable:
        adapters.close()
        raise


def cmd_up(args: argparse.Namespace) -> int:
    # The all-in-one: its embedded adapters are its own, so it prepares them itself.
    adapters = _adapters()
    ops = _start_ops(adapters)  # one for every worker of the process; the gateway keeps its own /metrics
    migrate(adapters)
    runner = Runner(adapters, build_services(adapters))
    runner.start()

    def finish() -> None:
        runner.stop()
        ops.stop()

    _serve_gateway(adapters, args.host, args.port, finish=finish)
    return 0


def cmd_gateway(args: argparse.Namespace) -> int:
    adapters = _adapters()
    _serve_gateway(adapters, args.host, args.port, finish=adapters.close)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    adapters = _adapters()
    if adapters.settings.bus_url.startswith("memory://"):
        log.warning("IMGJOB_BUS_URL is memory://: this %s only sees events published in its own process", args.command)
    # Up while it waits for `imgjob migrate`: alive on /healthz, and /readyz says what it waits for.
    ops = _start_ops(adapters)
    stopping = threading.Event()
    _stop_on_signals(stopping.set)
    # Started before `imgjob migrate` has run (a Kubernetes rollout beside its migrate job): wait for it.
    if not wait_until_ready(adapters, stopping):
        ops.stop()
        adapters.close()
        return 0
    runner = Runner(adapters, build_services(adapters, [args.command]))
    runner.start()
    log.info("%s started", args.command)
    _stop_on_signals(runner.stop)
    runner.wait()
    ops.stop()
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    adapters = _adapters()
    try:
        migrate(adapters)
    finally:
        adapters.close()
    print("schema, bucket and queues are in place")
    return 0


def cmd_deadletters(args: argparse.Namespace) -> int:
    adapters = _adapters()
    try:
        if args.action == "list":
            letters = adapters.bus.dead_letters()
            for letter in letters:
                event = letter.event
                what = (
                    f"{event.type} job {event.job_id} at {event.occurred_at.isoformat()}" if event else "not an event"
                )
                print(f"{letter.message_id}\t{letter.queue or '?'}\t{what}")
            print(f"{len(letters)} dead letter(s)", file=sys.stderr)
            return 0
        if not args.all and not args.event_id:
            print("imgjob deadletters replay: name an EVENT_ID or pass --all", file=sys.stderr)
            return 2
        replayed = adapters.bus.replay(None if args.all else args.event_id)
        print(f"{replayed} dead letter(s) sent back to their queues", file=sys.stderr)
        return 0 if replayed or args.all else 1
    finally:
        adapters.close()


def cmd_probe(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    names = args.provider or list(settings.search_providers)
    save_dir = Path(settings.save_unparsed) if settings.save_unparsed else None
    browser = build_browser(settings)
    return probe_command(browser, names, settings.search_urls, args.query, args.count, sys.stdout, save_dir)


def cmd_extract(args: argparse.Namespace) -> int:
    code: int = extract_command(args.provider, Path(args.file))
    return code


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="imgjob", description=__doc__)
    root.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

    for name, func, text in (
        ("up", cmd_up, "the whole system in one process on the embedded adapters"),
        ("gateway", cmd_gateway, "the web gateway alone (production: gunicorn)"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("--host", default="127.0.0.1")
        command.add_argument("--port", type=int, default=8000)
        command.set_defaults(func=func)
    for name in WORKERS:
        commands.add_parser(name, help=f"the {name} service alone").set_defaults(func=cmd_worker)
    commands.add_parser("migrate", help="create tables, bucket and queues if missing").set_defaults(func=cmd_migrate)
    dead = commands.add_parser("deadletters", help="list the dead letters, or send them back to their queues")
    dead_actions = dead.add_subparsers(dest="action", required=True, metavar="ACTION")
    dead_actions.add_parser("list", help="every dead letter: id, queue, event").set_defaults(func=cmd_deadletters)
    replay = dead_actions.add_parser("replay", help="send one dead letter (or --all) back to its queue")
    replay.add_argument("event_id", nargs="?", metavar="EVENT_ID")
    replay.add_argument("--all", action="store_true", help="every dead letter")
    replay.set_defaults(func=cmd_deadletters)
    extract = commands.add_parser("extract", help="print the full-size image URLs of a saved results page")
    extract.add_argument("--provider", required=True, choices=KNOWN_PROVIDERS)
    extract.add_argument("file")
    extract.set_defaults(func=cmd_extract)
    probe = commands.add_parser("probe", help="run each search provider live and report how it went (a canary)")
    probe.add_argument(
        "--provider", action="append", choices=KNOWN_PROVIDERS, help="only this one (repeatable); default: configured"
    )
    probe.add_argument("--count", type=int, default=50, help="links to ask each provider for (default 50)")
    probe.add_argument("query", metavar="QUERY")
    probe.set_defaults(func=cmd_probe)
    return root


def _log_format() -> str:
    try:
        return Settings.from_env().log_format
    except SettingsError:
        return "text"  # the command reads the settings again, and reports every unusable one


def _role(command: str) -> str:
    """The `service` of every log line: the worker's name, "gateway", or "imgjob" for the rest."""
    return command if command in WORKERS or command == "gateway" else "imgjob"


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logs.configure(args.log_level, _log_format(), _role(args.command))
    # pika reports every connection step at INFO and a dropped connection (which we retry) at ERROR.
    logging.getLogger("pika").setLevel(logging.CRITICAL if args.log_level.upper() != "DEBUG" else logging.DEBUG)
    try:
        result: int = args.func(args)
    except SettingsError as exc:
        print(f"imgjob: {exc}", file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":
    sys.exit(main())
