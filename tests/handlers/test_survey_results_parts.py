"""Long survey results reach the chat in parts that each fit a message and keep their HTML
tags whole and balanced (Telegram refuses a message whose tags do not balance)."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.deps import Deps
from bot.engine.dispatcher import Dispatcher
from bot.org.models import Role
from bot.surveys.models import Kind, Question, Spec
from handlers.surveys.results import PART
from tests.conftest import make_member
from tests.handlers.chat import Chat

TAG = re.compile(r"<(/?)(b|i|u|s|code|pre|a)(?:\s[^>]*)?>")


def balanced(part: str) -> bool:
    """Every tag opened in `part` is closed in it, in order, and no tag is cut."""
    stack: list[str] = []
    for match in TAG.finditer(part):
        if not match.group(1):
            stack.append(match.group(2))
        elif not stack or stack.pop() != match.group(2):
            return False
    return not stack and not re.search(r"<[^>]*$", part)


async def test_long_results_are_split_between_whole_tags(
        deps: Deps, dispatcher: Dispatcher) -> None:
    await make_member(deps, user_id="cadre", unit="khoi", grants=((Role.CADRE, "khoi"),))
    members = [await make_member(deps, user_id=f"m{i}", unit="cb-a1") for i in range(6)]
    spec = Spec(title="Ý kiến dài <về> nhiều việc", anonymous=False, questions=[
        Question(text=f"Câu hỏi {q} " + "rất dài về công tác dân vận " * 10, kind=Kind.TEXT)
        for q in range(10)])
    now = deps.clock()
    tree = await deps.units.tree()
    survey = await deps.surveys.open(spec, unit="khoi", author_name="Cán bộ", tree=tree,
                                     now=now, closes_at=now + timedelta(days=3))
    for n, member in enumerate(members):
        answers = [f"Ý kiến {n}.{q} <b>" + "cần quan tâm hơn nữa đến đời sống " * 28
                   for q in range(10)]
        assert await deps.surveys.record(survey, member.id, answers) == 1
    cadre = Chat(dispatcher, "cadre")
    replies = await cadre.press_raw(f"sv.r|{survey.id}")
    parts = [r.text for r in replies]
    assert len(parts) > 5 and all(len(p) <= PART for p in parts)
    assert all(balanced(p) for p in parts), [p[-80:] for p in parts if not balanced(p)]
    whole = "".join(parts)
    assert "Kết quả khảo sát: Ý kiến dài &lt;về&gt; nhiều việc" in whole
    assert all(f"Câu hỏi {q} " in whole for q in range(10))
    assert "&lt;b&gt;" in whole and "<b>Ý kiến" not in whole  # answers stay escaped
    assert replies[-1].buttons  # the tools under the last part
