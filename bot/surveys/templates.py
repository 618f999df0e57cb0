"""Survey templates shipped in content/surveys/*.yaml, validated by pydantic on load."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from bot import pydantic_vi
from bot.surveys.models import Spec

TEMPLATE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,23}$")


@dataclass(frozen=True)
class Template:
    """One template: its id (the file name) and its content."""

    id: str
    spec: Spec


class TemplateError(ValueError):
    """One or more template files are invalid; `problems` names file and field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def load_templates(folder: Path) -> list[Template]:
    """Every template in `folder`, sorted by id; TemplateError lists every problem."""
    found: list[Template] = []
    problems: list[str] = []
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        template_id = path.stem
        if not TEMPLATE_ID.match(template_id):
            problems.append(f"{path.name}: tên tệp chỉ gồm a–z, 0–9, -, tối đa 24 ký tự")
            continue
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            found.append(Template(template_id, Spec.model_validate(data)))
        except yaml.YAMLError as exc:
            problems.append(f"{path.name}: YAML không hợp lệ ({exc})")
        except ValidationError as exc:
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"]) or "(tệp)"
                problems.append(f"{path.name}: {where}: {pydantic_vi.message(err)}")
    if problems:
        raise TemplateError(problems)
    return found
