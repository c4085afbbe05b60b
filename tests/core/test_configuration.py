"""Configuration comes from the environment; production settings pass Django's deploy checks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "SECRET_KEY": "k3y-" + "production-like-secret-with-plenty-of-entropy-0123456789",
    "ALLOWED_HOSTS": "mcv.example.org",
    "DATABASE_URL": "sqlite:////tmp/mcv-deploy-check.sqlite3",
    "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.org:587",
}


def manage(*args, env):
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_reports_no_warnings_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "expression", "expected"),
    [
        (
            "DATABASE_URL",
            "postgres://u:p@db.example.org:5433/mcvdb",
            "settings.DATABASES['default']['HOST'], settings.DATABASES['default']['NAME']",
            "('db.example.org', 'mcvdb')",
        ),
        (
            "REDIS_URL",
            "redis://cache.example.org:6379/2",
            "settings.CELERY_BROKER_URL, settings.CELERY_TASK_ALWAYS_EAGER",
            "('redis://cache.example.org:6379/2', False)",
        ),
        (
            "EMAIL_URL",
            "smtp+tls://u:p@smtp.example.org:587",
            "settings.MAILERS['default']['OPTIONS']['host'], settings.MAILERS['default']['OPTIONS']['use_tls']",
            "('smtp.example.org', True)",
        ),
        (
            "ALLOWED_HOSTS",
            "a.example.org,b.example.org",
            "settings.ALLOWED_HOSTS",
            "['a.example.org', 'b.example.org']",
        ),
    ],
)
def test_settings_come_from_the_environment(variable, value, expression, expected):
    code = f"from django.conf import settings; print(({expression}))"
    result = manage("shell", "--no-imports", "-c", code, env={**PRODUCTION_ENV, variable: value})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_postgresql_connections_run_without_jit_unless_asked():
    code = "from django.conf import settings; print(settings.DATABASES['default'].get('OPTIONS', {}).get('options'))"
    database = {"DATABASE_URL": "postgres://u:p@db.example.org:5433/mcvdb"}
    off = manage("shell", "--no-imports", "-c", code, env={**PRODUCTION_ENV, **database})
    on = manage("shell", "--no-imports", "-c", code, env={**PRODUCTION_ENV, **database, "DATABASE_JIT": "true"})
    assert (off.stdout.strip(), on.stdout.strip()) == ("-c jit=off", "None"), off.stderr + on.stderr


def test_without_any_environment_it_runs_on_sqlite_with_eager_tasks():
    code = (
        "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'], "
        "settings.CELERY_TASK_ALWAYS_EAGER, settings.MAILERS['default']['BACKEND'].rsplit('.', 2)[-2])"
    )
    result = manage("shell", "--no-imports", "-c", code, env={"DEBUG": "true"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.db.backends.sqlite3 True filebased"
