"""Splitting HTML replies: a cut never falls inside a tag or an entity, even where the text
has no boundary to cut at, and tags a cut leaves open are closed and reopened."""

from __future__ import annotations

import re

import pytest

from bot.formatting import split_html, to_plain

# Our HTML subset as Telegram parses it: text without a bare "<" or "&", entities, tags.
WELL_FORMED = re.compile(r"(?:[^<&]|&(?:amp|lt|gt|quot|#\d+);|</?(?:b|i|a)(?: [^<>]*)?>)*")


def balanced(part: str) -> bool:
    """Every tag opened in `part` is closed in it, in order."""
    stack: list[str] = []
    for closing, name in re.findall(r"<(/?)(b|i|a)\b[^>]*>", part):
        if not closing:
            stack.append(name)
        elif not stack or stack.pop() != name:
            return False
    return not stack


@pytest.mark.parametrize("shift", range(0, 12))
def test_no_cut_inside_an_entity_or_a_tag_near_the_split_point(shift: int) -> None:
    # No space anywhere: the cut is a hard one, at every offset around "<b>" and "&amp;".
    value = "x" * (125 + shift) + "<b>đậm&amp;nhạt&lt;3</b>" + "&amp;" * 40 + "y" * 300
    parts = split_html(value, 200)
    assert len(parts) > 1
    for part in parts:
        assert len(part) <= 200
        assert WELL_FORMED.fullmatch(part), part
        assert balanced(part), part
    assert to_plain("".join(parts)) == to_plain(value)


def test_a_long_run_of_entities_is_cut_between_them() -> None:
    parts = split_html("&amp;" * 500, 300)
    assert all(WELL_FORMED.fullmatch(p) for p in parts)
    assert sum(p.count("&amp;") for p in parts) == 500
