"""What flows register: commands, button routes, dialog steps, main-menu items."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bot.deps import Deps
from bot.engine.conversation import Dialog
from bot.engine.messages import Button, Incoming, Reply
from bot.formatting import fold
from bot.org.models import Member
from bot.org.tree import OrgTree


@dataclass(frozen=True)
class Request:
    """Everything a handler gets: the person's input, who they are, where they are, the deps."""

    incoming: Incoming
    deps: Deps
    router: Router
    member: Member | None
    dialog: Dialog | None
    text: str = ""
    args: tuple[str, ...] = ()
    org: OrgTree | None = None  # the tree as of this update, when the dispatcher has it

    @property
    def me(self) -> Member:
        """The registered member (routes that are not public only run for members)."""
        assert self.member is not None, "route should have been public"
        return self.member

    @property
    def account(self) -> str:
        """Stable account id, e.g. 'telegram:12345'."""
        return f"{self.incoming.channel}:{self.incoming.user_id}"

    async def tree(self) -> OrgTree:
        """Current organization snapshot."""
        return self.org if self.org is not None else await self.deps.units.tree()

    def now(self) -> datetime:
        """Current time from the injected clock."""
        return self.deps.clock()


@dataclass
class Outcome:
    """What a handler returns: replies, and the dialog to keep (None ends it)."""

    replies: list[Reply]
    dialog: Dialog | None = None
    # False for notices ("nút không hợp lệ") that must not wipe the numbered options on screen.
    replace_options: bool = True


Handler = Callable[[Request], Awaitable[Outcome]]


@dataclass(frozen=True)
class Route:
    """A handler and whether people who are not registered may reach it."""

    handler: Handler
    public: bool = False
    files: bool = False  # a dialog step that accepts documents/photos
    # A dialog step that asks for text (digits typed there are text, not option numbers);
    # a callable decides from the dialog where one step asks for both.
    text: bool | Callable[[Dialog], bool] = True
    lines: bool = False  # the text may span several lines (the console collects a block)

    def takes_text(self, dialog: Dialog) -> bool:
        """Does this step, at `dialog`, expect typed text?"""
        return self.text(dialog) if callable(self.text) else self.text


@dataclass(frozen=True)
class Command:
    """A slash command, optionally also typed as a bare keyword ('menu', 'hủy')."""

    name: str
    route: Route
    description: str | None
    keywords: tuple[str, ...] = ()
    # Who `/help` lists it for (None: every member); the handler still checks on every call.
    visible: Callable[[Member], bool] | None = None
    aliases: tuple[str, ...] = ()  # other names, e.g. /toi for /me


@dataclass(frozen=True)
class MenuItem:
    """A main-menu button, shown when `visible(member)` says so."""

    label: str
    action: str
    order: int
    visible: Callable[[Member], bool]


@dataclass
class Router:
    """Registry filled by each handlers/ module's `register(router)`."""

    commands: dict[str, Command] = field(default_factory=dict)
    keywords: dict[str, str] = field(default_factory=dict)
    actions: dict[str, Route] = field(default_factory=dict)
    steps: dict[str, Route] = field(default_factory=dict)
    menu_items: list[MenuItem] = field(default_factory=list)
    fallback: Route | None = None

    def command(
        self, name: str, handler: Handler, *, description: str | None = None,
        public: bool = False, keywords: tuple[str, ...] = (),
        visible: Callable[[Member], bool] | None = None, aliases: tuple[str, ...] = (),
    ) -> None:
        """Register `/name`; `description` (Vietnamese) goes into the platform's command list."""
        route = Route(handler, public)
        self._unique(self.commands, name)
        self.commands[name] = Command(name, route, description, keywords, visible, aliases)
        for alias in aliases:  # same route; listed once, under `name`
            self._unique(self.commands, alias)
            self.commands[alias] = Command(alias, route, None)
        for word in dict.fromkeys(fold(w) for w in keywords):  # "hủy" and "huỷ" fold alike
            self._unique(self.keywords, word)
            self.keywords[word] = name

    def action(self, route: str, handler: Handler, *, public: bool = False) -> None:
        """Register a button route (the first field of a packed payload)."""
        self._unique(self.actions, route)
        self.actions[route] = Route(handler, public)

    def step(self, name: str, handler: Handler, *, public: bool = False,
             files: bool = False, text: bool | Callable[[Dialog], bool] = True,
             lines: bool = False) -> None:
        """Register a dialog step that receives typed text (and files when `files`); `text`
        False for a step that only waits for a button (typed digits pick an option there)."""
        self._unique(self.steps, name)
        self.steps[name] = Route(handler, public, files, text, lines)

    def menu_item(self, label: str, action: str, *, order: int,
                  visible: Callable[[Member], bool] = lambda _m: True) -> None:
        """Add a main-menu button."""
        self.menu_items.append(MenuItem(label, action, order, visible))

    def set_fallback(self, handler: Handler) -> None:
        """What answers text that no command, step or option matched."""
        self.fallback = Route(handler, public=True)

    def menu_for(self, member: Member) -> list[Button]:
        """Main-menu buttons this member may see, in order."""
        items = sorted(self.menu_items, key=lambda item: item.order)
        return [Button(i.label, i.action) for i in items if i.visible(member)]

    def bot_commands(self) -> list[tuple[str, str]]:
        """(command, description) pairs for setMyCommands."""
        return [(c.name, c.description) for c in self.commands.values() if c.description]

    @staticmethod
    def _unique(registry: Mapping[str, object], name: str) -> None:
        if name in registry:
            raise ValueError(f"{name!r} is registered twice")
