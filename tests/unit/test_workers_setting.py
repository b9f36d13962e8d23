"""WORKERS: two or more backend workers need REDIS_URL; the start is refused with a message naming it."""

from __future__ import annotations

import pytest

from booking.core.config import SettingsError, load_settings


def test_several_workers_without_redis_are_refused_naming_the_setting():
    with pytest.raises(SettingsError, match="WORKERS: .*REDIS_URL"):
        load_settings(WORKERS=2, REDIS_URL=None)


@pytest.mark.parametrize("workers,redis_url", [(None, None), (1, None), (2, "redis://127.0.0.1:6379/0"),
                                               (8, "redis://127.0.0.1:6379/0")])
def test_one_worker_or_several_with_redis_are_accepted(workers, redis_url):
    assert load_settings(WORKERS=workers, REDIS_URL=redis_url).workers == workers


def test_webhook_processing_is_inline_or_worker():
    assert load_settings().webhook_processing in ("inline", "worker")
    assert load_settings(WEBHOOK_PROCESSING="worker").webhook_processing == "worker"
    with pytest.raises(SettingsError, match="WEBHOOK_PROCESSING"):
        load_settings(WEBHOOK_PROCESSING="sometimes")


def test_several_job_workers_on_sqlite_need_redis_for_their_leader_locks():
    with pytest.raises(SettingsError, match="JOB_WORKERS: .*REDIS_URL"):
        load_settings(JOB_WORKERS=2, DATABASE_URL="sqlite:///x.db", REDIS_URL=None)
    assert load_settings(JOB_WORKERS=2, DATABASE_URL="sqlite:///x.db", REDIS_URL="redis://127.0.0.1:6379/0").job_workers == 2
    assert load_settings(JOB_WORKERS=3, DATABASE_URL="postgresql+psycopg://u@h/db").job_workers == 3
    assert load_settings().job_workers == 1
