"""What recording an answer needs beside the store: the tally fields of an answer set, and
the unit each member's answers are counted under."""

from __future__ import annotations

from collections.abc import Sequence

from bot.org.tree import OrgTree
from bot.surveys.models import Answer, Kind, Survey


def answer_fields(survey: Survey, answers: Sequence[Answer | None]
                  ) -> tuple[list[str], list[tuple[int, str]]]:
    """Tally fields (`<q>|<opt>`, `<q>|t`) and free texts of one validated answer set; a
    question skipped by the template's skip logic (None) adds nothing."""
    fields: list[str] = []
    texts: list[tuple[int, str]] = []
    for index, (question, answer) in enumerate(zip(survey.questions, answers, strict=True)):
        if answer is None:
            continue
        if question.kind is Kind.TEXT:
            fields.append(f"{index}|t")
            texts.append((index, str(answer)))
        elif isinstance(answer, list):
            fields += [f"{index}|{option}" for option in answer]
        else:
            fields.append(f"{index}|{answer}")
    return fields, texts


def recording_units(tree: OrgTree, root: str, homes: dict[str, str], k: int) -> dict[str, str]:
    """Home unit -> the unit its members' answers are counted under: the nearest unit (itself
    or an ancestor up to `root`) whose snapshot subtree has at least k members, else `root`.
    Chosen at opening, so the stored counters never single out a group smaller than k."""
    size: dict[str, int] = {}
    for home in homes.values():
        for unit in tree.ancestors(home):
            size[unit] = size.get(unit, 0) + 1
            if unit == root:
                break
    out: dict[str, str] = {}
    for home in set(homes.values()):
        chain = tree.ancestors(home)
        chain = chain[:chain.index(root) + 1] if root in chain else [root]
        out[home] = next((u for u in chain if size.get(u, 0) >= k), root)
    return out
