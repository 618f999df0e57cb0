"""Template features that shape how a survey is answered: skip logic (a question that does not
apply is passed over: "Chưa lần nào" skips the questions about visits), exclusive options, and
templates about a directive that cannot open until the directive is chosen.

A skipped question has no answer (None in the answer list): it adds nothing to the tallies, and
the confirmation says it was skipped.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.surveys.models import Answer, Question, Spec

PLACEHOLDER = "{văn bản}"


def next_question(spec: Spec, index: int, answer: Answer) -> int:
    """The index of the question to ask after answering question `index` with `answer`
    (len(questions) when the survey is done)."""
    question = spec.questions[index]
    if isinstance(answer, int) and answer + 1 in question.skip_to:
        return question.skip_to[answer + 1] - 1
    return index + 1


def answered_upto(answers: Sequence[Answer | None], target: int, answer: Answer
                  ) -> list[Answer | None]:
    """The answer list after `answer`, with None for every question skipped up to `target`."""
    out = [*answers, answer]
    return out + [None] * (target - len(out))


def previous(answers: Sequence[Answer | None]) -> list[Answer | None]:
    """The answer list with the last real answer (and the skips after it) removed."""
    out = list(answers)
    while out and out[-1] is None:
        out.pop()
    return out[:-1]


def toggled(question: Question, picked: list[int], option: int) -> list[int]:
    """Multiple choice: an exclusive option clears the others, and another one clears it."""
    if option in picked:
        return [i for i in picked if i != option]
    if option + 1 in question.exclusive:
        return [option]
    return [*(i for i in picked if i + 1 not in question.exclusive), option]


def needs_directive(spec: Spec) -> bool:
    """True while a directive template still says {văn bản} (it cannot be opened yet)."""
    texts = [spec.title, spec.intro, *(q.text for q in spec.questions)]
    return spec.directive and any(PLACEHOLDER in t for t in texts)


def for_directive(spec: Spec, label: str) -> Spec:
    """The template with {văn bản} replaced by the directive's label ('Chỉ thị 05-CT/TW')."""
    def fill(text: str) -> str:
        return text.replace(PLACEHOLDER, label)
    questions = [q.model_copy(update={"text": fill(q.text)[:300]}) for q in spec.questions]
    return spec.model_copy(update={"title": fill(spec.title)[:150], "intro": fill(spec.intro),
                                   "questions": questions})


def clamp_skips(questions: list[Question]) -> list[Question]:
    """Questions edited in the chat (some removed): skips that now lead past the end go."""
    end = len(questions) + 1
    return [q.model_copy(update={"skip_to": {k: v for k, v in q.skip_to.items() if v <= end}})
            if any(v > end for v in q.skip_to.values()) else q for q in questions]
