"""A test double for a person: types text or presses buttons through the real dispatcher."""

from __future__ import annotations

from bot.engine.dispatcher import Dispatcher
from bot.engine.errors import handle_safely
from bot.engine.messages import Button, Incoming, Reply
from bot.formatting import to_plain


class Chat:
    """One account talking to the bot; keeps the last replies for assertions."""

    def __init__(self, dispatcher: Dispatcher, user_id: str, *, channel: str = "telegram",
                 buttons: bool = True) -> None:
        self.dispatcher = dispatcher
        self.user_id = user_id
        self.channel = channel
        self.has_buttons = buttons
        self.replies: list[Reply] = []

    async def say(self, text: str) -> list[Reply]:
        """Type a line."""
        return await self._send(Incoming(channel=self.channel, user_id=self.user_id,
                                         chat_id=self.user_id, text=text,
                                         buttons=self.has_buttons))

    async def press(self, label: str) -> list[Reply]:
        """Press the button whose label contains `label` in the latest replies."""
        return await self.press_raw(self.button(label).action)

    async def press_raw(self, payload: str) -> list[Reply]:
        """Send an arbitrary (possibly forged) button payload."""
        return await self._send(Incoming(channel=self.channel, user_id=self.user_id,
                                         chat_id=self.user_id, action=payload,
                                         buttons=self.has_buttons))

    async def send(self, incoming: Incoming) -> list[Reply]:
        """Send a prepared Incoming (files, empty messages)."""
        return await self._send(incoming)

    async def choose(self, label: str) -> list[Reply]:
        """Type what picks the option containing `label` on a channel without buttons: its
        number, or "#N" where the screen asks for text (bot.engine.typed)."""
        last = [r for r in self.replies if r.buttons][-1]
        labels = [b.label for row in last.buttons for b in row]
        [number] = [n for n, text in enumerate(labels, start=1) if label in text]
        return await self.say(f"#{number}" if last.keyed == "#" else str(number))

    def button(self, label: str) -> Button:
        """Find a button on screen by (part of) its label."""
        for reply in reversed(self.replies):
            for row in reply.buttons:
                for button in row:
                    if label in button.label:
                        return button
        raise AssertionError(f"no button {label!r} in {self.labels()}")

    def labels(self) -> list[str]:
        """Labels of every button on screen."""
        return [b.label for r in self.replies for row in r.buttons for b in row]

    @property
    def text(self) -> str:
        """The latest replies as plain text."""
        return "\n".join(to_plain(r.text) for r in self.replies)

    async def _send(self, incoming: Incoming) -> list[Reply]:
        self.replies = await handle_safely(self.dispatcher, incoming)
        return self.replies
