"""The `setupmon` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from core.codec import dumps_pretty
from core.errors import SetupmonError
from core.settings import Settings, settings_help
from core.time import LiveCalendar
from events.validation import DATE_PATTERN
from setupmon.access_command import add_access_parser
from setupmon.import_command import add_import_parser
from setupmon.report_command import add_report_parsers

DEFAULT_SITES = Path(__file__).resolve().parent.parent / "deploy" / "sites" / "sample-sites.csv"


def _day(text: str) -> date:
    # date.fromisoformat also takes 20250301 and 2025-W10-1; the contract says YYYY-MM-DD.
    try:
        if not DATE_PATTERN.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a YYYY-MM-DD date") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="setupmon",
        description="Real-time monitor of commercial clinical trial set-up KPIs in the NHS.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    evaluate = commands.add_parser(
        "evaluate",
        help="evaluate KPI clocks from a file of milestone events (no broker needed)",
        description="Read milestone events (JSON lines) and print every KPI clock as of a day.",
    )
    evaluate.add_argument("--events", required=True, type=Path, metavar="FILE.jsonl")
    evaluate.add_argument(
        "--as-of", type=_day, metavar="YYYY-MM-DD", help="evaluation day (default: today in the UK)"
    )
    evaluate.set_defaults(handler=_run_evaluate)

    worker = commands.add_parser(
        "worker",
        help="run a stream worker (Faust agents, tables, /metrics and /healthz)",
        description="Run a worker. Settings come from SETUPMON_* variables (see `setupmon config -h`).",
    )
    worker.add_argument(
        "--loglevel", default="warning", choices=["debug", "info", "warning", "error"]
    )
    worker.set_defaults(handler=_run_worker)

    topics = commands.add_parser("topics", help="create setupmon's topics if they do not exist")
    topics.set_defaults(handler=_run_topics)

    sites = commands.add_parser("sites", help="manage the site registry (setup.sites)")
    site_commands = sites.add_subparsers(dest="sites_command", metavar="ACTION", required=True)
    load = site_commands.add_parser(
        "load",
        help="publish a CSV of sites (site_id,name,region,contacts) to setup.sites",
        description="contacts: `email:ADDRESS;webhook:URL` pairs separated by ';'. "
        "A file with any bad row is refused whole.",
    )
    load.add_argument("file", type=Path, metavar="FILE.csv")
    load.set_defaults(handler=_run_sites_load)

    simulate = commands.add_parser(
        "simulate",
        help="publish a realistic national stream of milestone events",
        description="Publishes milestone events for synthetic studies at the sites of a registry "
        "file, each once the calendar (SETUPMON_CALENDAR) reaches the day it was recorded.",
    )
    simulate.add_argument("--sites", type=Path, default=DEFAULT_SITES, metavar="FILE.csv")
    simulate.add_argument("--studies", type=int, default=200)
    simulate.add_argument("--seed", type=int, default=1)
    simulate.add_argument("--rate", type=float, default=1000.0, help="events per second at most")
    simulate.add_argument(
        "--history-days",
        type=int,
        default=150,
        help="studies start up to this many days before today (their past is sent at once)",
    )
    simulate.add_argument(
        "--days", type=int, default=None, help="stop after this many calendar days (default: never)"
    )
    simulate.set_defaults(handler=_run_simulate)

    notify = commands.add_parser(
        "notify",
        help="deliver alerts to the sites' contacts by webhook and email",
        description="Consumes setup.alerts; SMTP and retry settings come from SETUPMON_* "
        "variables (see `setupmon config -h`).",
    )
    notify.set_defaults(handler=_run_notify)

    watch = commands.add_parser(
        "watch",
        help="print the messages of a setupmon topic as they arrive",
        description="NAME is the topic without the prefix: alerts, study-status, site-kpis, "
        "milestones.dlq, sponsor.<sponsor_id>.study-status ...",
    )
    watch.add_argument("name")
    watch.add_argument("--from-beginning", action="store_true")
    watch.set_defaults(handler=_run_watch)

    add_access_parser(commands)
    add_import_parser(commands)
    add_report_parsers(commands)

    config = commands.add_parser(
        "config",
        help="print the settings read from the environment (secrets masked)",
        description="Settings come from these environment variables:\n" + settings_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    config.set_defaults(handler=_run_config)
    return parser


def _run_evaluate(args: argparse.Namespace) -> int:
    from setupmon.evaluate import evaluate_file

    as_of = args.as_of or LiveCalendar().today()
    if not args.events.is_file():
        raise SetupmonError(f"no such file: {args.events}")
    document = evaluate_file(args.events, as_of)
    sys.stdout.buffer.write(dumps_pretty(document) + b"\n")
    return 0


def _run_worker(args: argparse.Namespace) -> int:
    from streams.worker import run_worker

    run_worker(Settings.from_env(), loglevel=args.loglevel)
    return 0


def _run_topics(args: argparse.Namespace) -> int:
    import asyncio

    from broker.client import ensure_topics
    from broker.topics import TopicNames

    settings = Settings.from_env()
    created = asyncio.run(ensure_topics(settings, TopicNames.from_settings(settings).specs()))
    print("created: " + (", ".join(created) if created else "nothing (all topics exist)"))
    return 0


def _run_sites_load(args: argparse.Namespace) -> int:
    import asyncio

    from setupmon.sites import load_sites, read_sites

    sites = read_sites(args.file)
    count = asyncio.run(load_sites(Settings.from_env(), sites))
    print(f"loaded {count} sites from {args.file}")
    return 0


def _run_simulate(args: argparse.Namespace) -> int:
    import asyncio
    from datetime import timedelta

    from core.time import parse_calendar
    from setupmon.simulator import plan_events, run_simulation
    from setupmon.sites import read_sites

    settings = Settings.from_env()
    calendar = parse_calendar(settings.calendar)
    today = calendar.today()
    site_ids = [site.site_id for site in read_sites(args.sites)]
    planned = plan_events(
        site_ids,
        studies=args.studies,
        first_day=today - timedelta(args.history_days),
        span_days=args.history_days + 60,
        seed=args.seed,
    )
    until = None if args.days is None else today + timedelta(args.days)
    print(f"simulating {args.studies} studies at {len(site_ids)} sites: {len(planned)} messages")
    sent = asyncio.run(run_simulation(settings, calendar, planned, rate=args.rate, until=until))
    print(f"sent {sent} messages")
    return 0


def _run_notify(args: argparse.Namespace) -> int:
    import asyncio
    import signal

    from alerts.notifier import Notifier
    from alerts.shutdown import run_until_stopped
    from core.logs import limit_repeats
    from core.time import parse_calendar

    limit_repeats()  # aiokafka logs each reconnect to a lost broker: once a minute is enough
    settings = Settings.from_env()
    notifier = Notifier(settings, parse_calendar(settings.calendar))

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await run_until_stopped(notifier.run(stop), stop)

    asyncio.run(main())
    return 0


def _run_watch(args: argparse.Namespace) -> int:
    import asyncio

    from setupmon.watch import watch_topic

    settings = Settings.from_env()
    try:
        asyncio.run(watch_topic(settings, settings.topic(args.name), args.from_beginning))
    except KeyboardInterrupt:
        pass
    return 0


def _run_config(args: argparse.Namespace) -> int:
    for name, value in Settings.from_env().describe().items():
        print(f"{name}={value}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except SetupmonError as exc:
        print(f"setupmon {args.command}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"setupmon {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
