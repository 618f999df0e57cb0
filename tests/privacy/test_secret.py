"""The deployment secret: configured, or (embedded single process) one 0600 file in DATA_DIR."""

from __future__ import annotations

import stat
from pathlib import Path

from bot.privacy.secret import SECRET_FILE, deployment_secret
from bot.settings import SettingsError, load_settings


def test_embedded_default_keeps_one_private_file(tmp_path: Path) -> None:
    first = deployment_secret(None, tmp_path / "data")
    path = tmp_path / "data" / SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(first) == 64
    assert deployment_secret(None, tmp_path / "data") == first  # kept, not regenerated
    assert deployment_secret("configured-secret", tmp_path / "x") == b"configured-secret"


def test_only_an_external_store_requires_the_shared_secret(tmp_path: Path) -> None:
    load_settings(data_dir=tmp_path, redis_url=None,
                  survey_secret=None).require_shared_survey_secret()  # embedded: fine
    load_settings(data_dir=tmp_path, redis_url="redis://r:6379/0",
                  survey_secret="s" * 32).require_shared_survey_secret()
    try:
        load_settings(data_dir=tmp_path, redis_url="redis://r:6379/0",
                      survey_secret=None).require_shared_survey_secret()
    except SettingsError as exc:
        assert "DVBOT_SURVEY_SECRET" in str(exc)
    else:
        raise AssertionError("an external store without the secret was accepted")
