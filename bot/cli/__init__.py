"""`dvbot` command line: run the bot, the console, and every admin task outside the chat."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.app import make_deps, run_bot, run_console, run_worker
from bot.channels.telegram import fetch_username
from bot.channels.telegram_start import TelegramUnavailable
from bot.cli import backup
from bot.cli import content as content_cli
from bot.cli import proposals as proposals_cli
from bot.cli.loop import run_fast
from bot.cli.parser import VnArgumentParser
from bot.demo import UnknownPerson
from bot.deps import Deps
from bot.formatting import vn_datetime
from bot.ops.backup import BackupError
from bot.ops.logs import setup_logging
from bot.org.access import is_staff
from bot.org.invites import normalize_code
from bot.org.members import MemberNotFound
from bot.org.models import Grant, Role
from bot.org.tree import UnitImportError, parse_units_yaml
from bot.proposals.levels import parse_levels
from bot.settings import Settings, SettingsError, load_settings
from bot.storage.connection import StoreUnavailable, open_store
from bot.storage.embedded import EmbeddedStoreError
from bot.web.links import sign_in_url
from bot.web.sessions import WebSessions

ROLES = [r.value for r in Role]
UNIT_HELP = "mã đơn vị (xem `dvbot units list`)"
CONSOLE_LOG = "console.log"  # under DVBOT_DATA_DIR


class CliError(Exception):
    """A user-facing failure: printed as one line, exit code 1."""


def build_parser() -> argparse.ArgumentParser:
    """All subcommands."""
    parser = VnArgumentParser(prog="dvbot", description="Chatbot công tác dân vận.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="LỆNH")
    sub.add_parser("run", help="chạy bot Telegram (long polling, hoặc webhook nếu đặt "
                               "DVBOT_WEBHOOK_URL)")
    sub.add_parser("worker", help="chỉ gửi thông báo: tiến trình gửi bổ sung, dùng chung "
                                  "token và giới hạn tốc độ với `dvbot run`")
    console = sub.add_parser("console", help="dùng bot trong terminal, không cần token")
    console.add_argument("--demo", action="store_true", help="nạp tổ chức mẫu, đăng nhập quản trị")
    console.add_argument("--as", dest="person", default="admin", metavar="VAI",
                         help="khi dùng thử: đăng nhập là người mẫu này (admin, dangvien, canbo, "
                              "thamdinh-coso, thamdinh-khoi)")
    console.add_argument("--reset", action="store_true",
                         help="khi dùng thử: xóa dữ liệu dùng thử cũ, nạp lại từ đầu")
    console.add_argument("--web", action="store_true",
                         help="mở cả bảng điều khiển (DVBOT_HTTP_PORT), in đường dẫn đăng nhập")
    web_link = sub.add_parser("web-link", help="in đường dẫn đăng nhập bảng điều khiển (một lần, "
                                               "10 phút) cho một cán bộ")
    web_link.add_argument("--member", required=True,
                          help="mã thành viên (xem `dvbot members list`)")

    units = sub.add_parser("units", help="cây đơn vị").add_subparsers(dest="action", required=True)
    units.add_parser("import", help="nhập đơn vị từ tệp YAML").add_argument("file", type=Path)
    units.add_parser("list", help="liệt kê đơn vị")

    members = sub.add_parser("members", help="đảng viên").add_subparsers(dest="action",
                                                                          required=True)
    members.add_parser("list", help="liệt kê đảng viên").add_argument(
        "--unit", help="chỉ đơn vị này và các đơn vị trực thuộc")

    invite = sub.add_parser("invite", help="mã mời").add_subparsers(dest="action", required=True)
    create = invite.add_parser("create", help="tạo mã mời")
    create.add_argument("--unit", required=True, help=UNIT_HELP)
    create.add_argument("--role", choices=ROLES, default="member",
                        help="vai trò của người được mời (mặc định member: đảng viên)")
    create.add_argument("--uses", type=int, default=1, help="số người được dùng (mặc định 1)")
    create.add_argument("--days", type=int, help="số ngày hiệu lực (mặc định DVBOT_INVITE_DAYS)")
    invite.add_parser("list", help="liệt kê mã mời").add_argument("--unit")
    invite.add_parser("revoke", help="thu hồi mã mời").add_argument("code")

    roles = sub.add_parser("roles", help="vai trò").add_subparsers(dest="action", required=True)
    for name, text in (("grant", "giao vai trò"), ("revoke", "thu hồi vai trò")):
        cmd = roles.add_parser(name, help=text)
        cmd.add_argument("member", help="mã thành viên (xem `dvbot members list`)")
        cmd.add_argument("role", choices=ROLES[1:], help="vai trò")
        cmd.add_argument("--unit", required=True, help=UNIT_HELP)
    content_cli.add_parser(sub)  # `dvbot content check|import`
    proposals_cli.add_parser(sub)  # `dvbot proposals export|report`
    backup.add_parsers(sub)  # `dvbot backup FILE`, `dvbot restore FILE`
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `dvbot` console script."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        parse_levels(settings.proposal_levels)  # refuse a bad value before anything starts
        if args.command in ("run", "worker"):  # processes that may run side by side
            settings.require_shared_survey_secret()
        secrets = [s.get_secret_value() for s in (settings.telegram_token, settings.redis_url,
                                                   settings.webhook_secret,
                                                   settings.survey_secret) if s is not None]
        secrets += settings.zalo_secrets()
        # The console is a conversation: its log lines go to a file, never between the
        # bot's answers (a "WARNING dvbot.dispatch: forbidden" line read like a reply).
        log_file = settings.data_dir / CONSOLE_LOG if args.command == "console" else None
        setup_logging(settings.log_level, secrets, settings.log_format, log_file)
        if args.command == "run":
            run_fast(run_bot(settings))
        elif args.command == "worker":
            run_fast(run_worker(settings))
        elif args.command == "console":
            if (args.reset or args.person != "admin") and not args.demo:
                raise CliError("--as và --reset chỉ dùng trong chế độ dùng thử.")
            asyncio.run(run_console(settings, demo=args.demo, person=args.person,
                                    reset=args.reset, web=args.web))
        elif args.command == "web-link":
            asyncio.run(_web_link(settings, args))
        elif args.command == "backup":
            asyncio.run(backup.run_backup(settings, args))
        elif args.command == "restore":
            asyncio.run(backup.run_restore(settings, args))
        elif (args.command, args.action) == ("content", "check"):
            return content_cli.check(settings, args)  # needs no store
        else:
            asyncio.run(_admin(settings, args))
    except (SettingsError, StoreUnavailable, EmbeddedStoreError, CliError, BackupError,
            TelegramUnavailable, UnknownPerson) as exc:
        print(f"dvbot: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, SettingsError | TelegramUnavailable | UnknownPerson) else 1
    except content_cli.ContentError as exc:
        content_cli.report_problems(exc.problems)
        return 1
    except UnitImportError as exc:
        print("dvbot: tệp đơn vị không hợp lệ, chưa nhập gì:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, asyncio.CancelledError):
        return 130
    return 0


async def _admin(settings: Settings, args: argparse.Namespace) -> None:
    async with open_store(settings) as redis:
        deps = make_deps(settings, redis)
        command: Callable[[Deps, argparse.Namespace], Awaitable[None]] = COMMANDS[
            (args.command, args.action)]
        await command(deps, args)


async def units_import(deps: Deps, args: argparse.Namespace) -> None:
    """Import units from YAML, all or nothing."""
    path: Path = args.file
    try:
        text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"không đọc được {path}: {exc.strerror}") from None
    added, changed = await deps.units.import_units(parse_units_yaml(text, source=str(path)))
    await deps.audit.record(_actor(), "units_import", file=str(path), added=str(added),
                            changed=str(changed))
    print(f"Đã nhập {path}: {added} đơn vị mới, {changed} đơn vị cập nhật.")


async def units_list(deps: Deps, _args: argparse.Namespace) -> None:
    """Print the tree, indented."""
    tree = await deps.units.tree()
    if not tree.units:
        print("Chưa có đơn vị nào. Dùng `dvbot units import FILE`.")
    for root in tree.roots():
        for unit_id in tree.subtree(root):
            depth = len(tree.ancestors(unit_id)) - 1
            unit = tree.units[unit_id]
            print(f"{'  ' * depth}{unit.id}  {unit.name}  ({unit.kind_label})")


async def members_list(deps: Deps, args: argparse.Namespace) -> None:
    """Print members with id, unit and roles; --unit means that unit and every unit below."""
    if args.unit is None:
        found = await deps.members.list()
    else:
        tree = await deps.units.tree()
        if tree.get(args.unit) is None:
            raise CliError(f"không có đơn vị {args.unit!r} (xem `dvbot units list`)")
        found = [m for unit in tree.subtree(args.unit) for m in await deps.members.list(unit)]
    for m in found:
        roles = ", ".join(f"{g.role.value}@{g.unit}" for g in m.grants) or "member"
        print(f"{m.id}\t{m.name}\t{m.unit}\t{roles}")


async def invite_create(deps: Deps, args: argparse.Namespace) -> None:
    """Create an invite and print the code and the deep link."""
    tree = await deps.units.tree()
    if tree.get(args.unit) is None:
        raise CliError(f"không có đơn vị {args.unit!r} (xem `dvbot units list`)")
    if not 1 <= args.uses <= 100_000:
        raise CliError("--uses phải từ 1 đến 100000")
    days = args.days or deps.settings.invite_days
    if not 1 <= days <= 365:
        raise CliError("--days phải từ 1 đến 365")
    invite = await deps.invites.create(unit=args.unit, role=Role(args.role),
                                       created_by=_actor(), max_uses=args.uses, days=days,
                                       now=deps.clock())
    await deps.audit.record(_actor(), "invite_create", code=invite.code, unit=args.unit,
                            role=args.role, uses=str(args.uses))
    print(f"Mã mời: {invite.code}")
    print(f"Đơn vị: {tree.path(args.unit)} — vai trò {Role(args.role).label}, "
          f"{args.uses} lượt, hết hạn {vn_datetime(invite.expires_at)}")
    print(f"\nNgười được mời mở bot (Telegram hoặc Zalo) rồi gõ:\n\n    /start {invite.code}\n")
    username = await _bot_username(deps.settings)
    if username:
        print(f"Hoặc mở đường dẫn mời trên Telegram: https://t.me/{username}?start={invite.code}")
    else:
        print("(Muốn in kèm đường dẫn mời Telegram: đặt DVBOT_TELEGRAM_BOT_USERNAME hoặc "
              "DVBOT_TELEGRAM_TOKEN.)")


async def invite_list(deps: Deps, args: argparse.Namespace) -> None:
    """Print invites, newest first."""
    now = deps.clock()
    for i in await deps.invites.list(unit=args.unit):
        state = ("đã thu hồi" if i.revoked else "hết hạn" if now >= i.expires_at
                 else "hết lượt" if i.uses >= i.max_uses else "còn hiệu lực")
        print(f"{i.code}\t{i.unit}\t{i.role.value}\t{i.uses}/{i.max_uses}\t"
              f"{vn_datetime(i.expires_at)}\t{state}")


async def invite_revoke(deps: Deps, args: argparse.Namespace) -> None:
    """Revoke an invite."""
    code = normalize_code(args.code)
    if code is None or not await deps.invites.revoke(code):
        raise CliError(f"không có mã mời {args.code!r}")
    await deps.audit.record(_actor(), "invite_revoke", code=code)
    print(f"Đã thu hồi mã mời {code}.")


async def roles_grant(deps: Deps, args: argparse.Namespace) -> None:
    """Give a member a role over a unit subtree."""
    await _change_role(deps, args, grant=True)


async def roles_revoke(deps: Deps, args: argparse.Namespace) -> None:
    """Take a role away."""
    await _change_role(deps, args, grant=False)


async def _change_role(deps: Deps, args: argparse.Namespace, *, grant: bool) -> None:
    if (await deps.units.tree()).get(args.unit) is None:
        raise CliError(f"không có đơn vị {args.unit!r}")
    change = Grant(role=Role(args.role), unit=args.unit)
    current = await deps.members.get(args.member)
    if current is None:
        raise CliError(f"không có thành viên {args.member!r} (xem `dvbot members list`)")
    if not grant and change not in current.grants:
        held = ", ".join(f"{g.role.value}@{g.unit}" for g in current.grants) or "chỉ là đảng viên"
        raise CliError(f"{current.name} ({current.id}) không có vai trò {args.role} tại "
                       f"{args.unit}, không có gì để thu hồi (hiện có: {held})")
    try:
        if grant:
            member = await deps.members.add_grant(args.member, change)
        else:
            member = await deps.members.remove_grant(args.member, change)
    except MemberNotFound:
        raise CliError(f"không có thành viên {args.member!r}") from None
    await deps.audit.record(_actor(), "role_grant" if grant else "role_revoke",
                            member=member.id, role=args.role, unit=args.unit)
    roles = ", ".join(f"{g.role.value}@{g.unit}" for g in member.grants) or "member"
    print(f"{member.name} ({member.id}): {roles}")


async def _bot_username(settings: Settings) -> str | None:
    if settings.telegram_bot_username:
        return settings.telegram_bot_username
    if settings.telegram_token is None:
        return None
    try:
        return await fetch_username(settings.telegram_token.get_secret_value(),
                                    settings.telegram_api_url)
    except TelegramUnavailable as exc:
        print(f"(Không hỏi được tên bot từ Telegram: {exc})", file=sys.stderr)
        return None


async def _web_link(settings: Settings, args: argparse.Namespace) -> None:
    async with open_store(settings) as redis:
        deps = make_deps(settings, redis)
        member = await deps.members.get(str(args.member))
        if member is None:
            raise CliError(f"không có thành viên {args.member!r}")
        if not is_staff(member):
            raise CliError(f"{member.name} không có vai trò cán bộ, người thẩm định hay quản trị")
        token = await WebSessions(redis, deps.keys).issue_link(member.id)
        await deps.audit.record(_actor(), "web_link", member=member.id)
        print(f"Đường dẫn đăng nhập cho {member.name} (dùng một lần, trong 10 phút):")
        print(sign_in_url(settings, token))


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


COMMANDS: dict[tuple[str, str], Callable[[Deps, argparse.Namespace], Awaitable[None]]] = {
    ("units", "import"): units_import,
    ("units", "list"): units_list,
    ("members", "list"): members_list,
    ("invite", "create"): invite_create,
    ("invite", "list"): invite_list,
    ("invite", "revoke"): invite_revoke,
    ("roles", "grant"): roles_grant,
    ("roles", "revoke"): roles_revoke,
    ("content", "import"): content_cli.run_import,
    ("proposals", "export"): proposals_cli.run_export,
    ("proposals", "report"): proposals_cli.run_report,
}

if __name__ == "__main__":
    sys.exit(main())
