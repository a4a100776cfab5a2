"""`setupmon access`: the users of a secured broker and their ACLs (README "Security")."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.settings import Settings

ROLES = ("sponsor", "producer", "importer", "worker", "notifier")


def add_access_parser(commands: argparse._SubParsersAction) -> None:
    access = commands.add_parser(
        "access",
        help="add, list and revoke the users of a secured broker and their ACLs",
        description="Connects with SETUPMON_* settings as an administrator (a super user). "
        "A sponsor reads setup.sponsor.<id>.study-status only; a producer writes "
        "setup.milestones only; an importer also keeps setup.imports; see README 'Security' "
        "for every ACL.",
    )
    actions = access.add_subparsers(dest="access_command", metavar="ACTION", required=True)
    add = actions.add_parser(
        "add",
        help="create or update a user and its ACLs",
        description="ROLE NAME: sponsor SPONSOR_ID (user sponsor.<id>), producer NAME "
        "(user producer.<name>), importer NAME (user importer.<name>), worker USER or "
        "notifier USER. The password comes from "
        "--password-file, or is generated into it when the file does not exist.",
    )
    add.add_argument("role", choices=ROLES)
    add.add_argument("name")
    add.add_argument("--password-file", type=Path, required=True, metavar="FILE")
    add.set_defaults(handler=_run_access_add)
    revoke = actions.add_parser(
        "revoke",
        help="delete a user's ACLs (refused at once) and its login",
    )
    revoke.add_argument("role", choices=ROLES)
    revoke.add_argument("name")
    revoke.set_defaults(handler=_run_access_revoke)
    listing = actions.add_parser("list", help="every user and every ACL")
    listing.set_defaults(handler=_run_access_list)


def _run_access_add(args: argparse.Namespace) -> int:
    from broker.acls import Role
    from setupmon.access import add

    print(add(Settings.from_env(), Role(args.role), args.name, args.password_file))
    return 0


def _run_access_revoke(args: argparse.Namespace) -> int:
    from broker.acls import Role
    from setupmon.access import revoke

    print(revoke(Settings.from_env(), Role(args.role), args.name))
    return 0


def _run_access_list(args: argparse.Namespace) -> int:
    from setupmon.access import listing

    print(listing(Settings.from_env()))
    return 0
