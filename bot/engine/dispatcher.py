"""Routes one Incoming to a flow under the account's lock, and keeps dialog state in Redis."""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from bot import wording
from bot.delivery import missed
from bot.delivery.seen import Seen
from bot.deps import Deps
from bot.engine import typed
from bot.engine.actions import Action, BadPayload
from bot.engine.conversation import Dialog, Options
from bot.engine.messages import Button, Incoming, Reply
from bot.engine.router import Outcome, Request, Route, Router
from bot.formatting import esc, fold, nfc, vn_number
from bot.org.access import Forbidden
from bot.org.member_cache import MemberCache
from bot.org.models import Member
from bot.org.tree import OrgTree
from bot.privacy.logid import log_id

log = logging.getLogger("dvbot.dispatch")

MAX_TEXT = 4000  # a little under Telegram's 4,096 so echoes of user text still fit


def notice(text: str, dialog: Dialog | None) -> Outcome:
    """A reply that leaves the dialog and the numbered options as they were."""
    return Outcome([Reply(text)], dialog=dialog, replace_options=False)


class Dispatcher:
    """Channel-neutral entry point: `await dispatcher.handle(incoming)` -> replies."""

    def __init__(self, router: Router, deps: Deps) -> None:
        self.router = router
        self.deps = deps
        self._members = MemberCache(deps.redis, deps.keys)
        self.seen = Seen(deps.keys, deps.sealer)  # last interactions (bot.delivery.seen)

    async def handle(self, incoming: Incoming) -> list[Reply]:
        """Handle one update; the lock is taken before any state is loaded."""
        conversations = self.deps.conversations
        # One round trip in: lock, dialog, options, identity, the tree's version and the
        # member record (cached, parsed again only when it changed); one out if the state
        # changed, else the lock goes back with a batch of other accounts' releases.
        # The member's missed-notices offer (bot.delivery.missed) is read in that trip too,
        # and the account's last interaction rides on the release (bot.delivery.seen).
        channel, user_id = incoming.channel, incoming.user_id
        known = self._members.id_for(channel, user_id)
        keys = self.deps.keys
        also = [keys.units_version(),
                *([keys.member(known), keys.pending_offer(known)] if known else [])]
        held = await conversations.hold(channel, user_id, also=also)
        try:
            member = await self._members.resolve(channel, user_id, held.member_id,
                                                 held.also[1] if known else None)
            org = await self.deps.units.tree_at(int(held.also[0] or 0))
            outcome = await self._route(incoming, member, held.dialog, held.options, org)
        except BaseException:
            await conversations.release(held)
            raise
        replies = outcome.replies
        replace_options = not incoming.buttons and outcome.replace_options
        options = None
        if replace_options:
            asks_text = self._takes_text(outcome.dialog)
            replies = typed.keyed(replies) if asks_text else replies
            options = typed.screen_options(replies, keyed=asks_text, before=held.options)
        await conversations.release(
            held, dialog=outcome.dialog, save=True, save_options=replace_options,
            options=options, seen=self.seen.due(channel, user_id, time.time()))
        offer = await self._offer(incoming, member, held.also[2] if known else None, known)
        return [*replies, offer] if offer is not None else replies

    async def _offer(self, inc: Incoming, member: Member | None, due: object,
                     known: str | None) -> Reply | None:
        """"Đồng chí có N thông báo chưa đọc…" when the member has missed notices to offer."""
        if member is None or nfc(inc.text or "").strip().startswith(missed.COMMAND):
            return None
        if member.id != known:  # first sight of the account here: not read with the lock
            due = await self.deps.redis.get(self.deps.keys.pending_offer(member.id))
        return await self.deps.outbox.missed.offer(member.id, due, time.time())

    def _takes_text(self, dialog: Dialog | None) -> bool:
        """Is the member, after this update, at a step that expects typed text?"""
        step = self.router.steps.get(dialog.step) if dialog else None
        return step is not None and dialog is not None and step.takes_text(dialog)

    async def _route(self, inc: Incoming, member: Member | None, dialog: Dialog | None,
                     options: Options | None, org: OrgTree | None = None) -> Outcome:
        base = Request(inc, self.deps, self.router, member, dialog, org=org)
        if inc.action is not None:
            return await self._on_action(base, inc.action)
        if inc.file is not None:
            step = self.router.steps.get(dialog.step) if dialog else None
            if step is None or not step.files:
                return notice(wording.UNEXPECTED_FILE, dialog)
            return await self._run(step, base)
        text = nfc(inc.text or "").strip()
        if not text:
            return notice(wording.UNSUPPORTED, dialog)
        if len(text) > MAX_TEXT:
            return notice(wording.TOO_LONG.format(length=vn_number(len(text)),
                                                  limit=vn_number(MAX_TEXT)), dialog)
        request = Request(inc, self.deps, self.router, member, dialog, text=text, org=org)
        if text.startswith("/"):
            return await self._on_command(request, text)
        if fold(text) in self.router.keywords:
            return await self._on_command(request, "/" + self.router.keywords[fold(text)])
        if not inc.buttons:
            answered = await self._on_typed(request, text, options)
            if answered is not None:
                return answered
        if dialog is not None:
            step = self.router.steps.get(dialog.step)
            if step is not None:
                return await self._run(step, request)
            log.warning("dialog step %s is not registered; dropping it", dialog.step)
        assert self.router.fallback is not None, "handlers must set a fallback"
        return await self._run(self.router.fallback, request)

    async def _on_command(self, request: Request, text: str) -> Outcome:
        word, *args = text.split()
        name = word[1:].split("@", 1)[0].casefold()
        command = self.router.commands.get(name)
        if command is None:
            return notice(wording.UNKNOWN_COMMAND.format(command=esc(word[:40])), request.dialog)
        return await self._run(command.route, _with(request, args=tuple(args)))

    async def _on_action(self, request: Request, payload: str) -> Outcome:
        try:
            action = Action.parse(payload)
        except BadPayload:
            log.info("refused a garbled button payload from %s", log_id(request.account))
            return notice(wording.BAD_BUTTON, request.dialog)
        route = self.router.actions.get(action.route)
        if route is None:
            log.info("refused unknown button route %r from %s", action.route,
                     log_id(request.account))
            return notice(wording.BAD_BUTTON, request.dialog)
        return await self._run(route, _with(request, args=action.args))

    async def _on_typed(self, request: Request, text: str,
                        options: Options | None) -> Outcome | None:
        """A typed number or button words on a channel without buttons (bot.engine.typed);
        None when the line is ordinary text for the step."""
        dialog = request.dialog
        meant = typed.resolve(text, options, dialog_takes_text=self._takes_text(dialog),
                              in_dialog=dialog is not None and dialog.step in self.router.steps)
        if meant.kind == "pick":
            # From here on it is a button press, as if pressed: flows that tell typed text
            # from a press (a skipped note) must not see the typed words as content.
            pressed = Request(replace(request.incoming, text=None, action=meant.action),
                              request.deps, request.router, request.member, dialog,
                              org=request.org)
            outcome = await self._on_action(pressed, meant.action)
            if meant.from_notice and outcome.dialog is None and dialog is not None:
                outcome.dialog = dialog  # a notice's button never ends the dialog it interrupted
            return outcome
        if meant.kind == "none":
            return notice(wording.NO_OPTIONS, dialog)
        if meant.kind == "again" and options is not None:
            if text == "0" and "cancel" in self.router.actions:
                # Zalo's numbered lists end with "0 để quay lại": leave, back to the menu.
                return await self._on_action(request, "cancel")
            buttons = tuple((Button(label, action),)
                            for label, action in zip(options.labels, options.actions,
                                                     strict=True))
            count = len(options.actions)
            again = wording.pick_prefix(count) if options.keyed else wording.pick_number(count)
            return Outcome([Reply(f"{again}\n{options.prompt}".strip(), buttons=buttons)],
                           dialog=dialog)
        return None

    async def _run(self, route: Route, request: Request) -> Outcome:
        if request.member is None and not route.public:
            return notice(wording.NOT_REGISTERED, request.dialog)
        try:
            return await route.handler(request)
        except Forbidden as exc:
            log.warning("forbidden: %s tried %s", log_id(request.account),
                        route.handler.__qualname__)
            return notice(str(exc) or wording.FORBIDDEN, request.dialog)


def _with(request: Request, *, args: tuple[str, ...]) -> Request:
    return Request(request.incoming, request.deps, request.router, request.member,
                   request.dialog, text=request.text, args=args, org=request.org)

