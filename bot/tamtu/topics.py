"""The topics members choose from, read from `content/tamtu/topics.yaml`."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from bot.tamtu.models import Topic

TOPICS_FILE = Path("tamtu") / "topics.yaml"
DEFAULT = (Topic(id="cong-viec", name="Công việc"), Topic(id="doi-song", name="Đời sống"),
           Topic(id="che-do", name="Chế độ chính sách"),
           Topic(id="thu-tuc", name="Thủ tục hành chính"),
           Topic(id="gop-y-can-bo", name="Góp ý cán bộ"), Topic(id="khac", name="Khác"))


class TopicsError(ValueError):
    """The topics file is malformed; the message names the problem in Vietnamese."""


def load_topics(content_dir: Path) -> list[Topic]:
    """The configured topics; the built-in list when the deployment has no topics file."""
    path = content_dir / TOPICS_FILE
    if not path.is_file():
        return list(DEFAULT)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        raw = data.get("topics") if isinstance(data, dict) else None
        if not isinstance(raw, list) or not raw:
            raise TopicsError(f"{path}: cần một danh sách chủ đề dưới khóa `topics:`")
        topics = [Topic.model_validate(item) for item in raw]
    except (yaml.YAMLError, ValidationError) as exc:
        raise TopicsError(f"{path}: tệp chủ đề không hợp lệ ({exc.__class__.__name__})") from exc
    if len({t.id for t in topics}) != len(topics):
        raise TopicsError(f"{path}: mã chủ đề bị lặp lại")
    return topics
