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


def test_two_processes_writing_the_sqlite_database_at_once_both_succeed(tmp_path):
    """bin/start runs the web server and Celery beat side by side on the SQLite file. Two
    transactions that read then write at the same moment must both commit, one after the
    other, not fail with "database is locked" (what SQLite's default, deferred
    transactions do when both try to turn their read lock into a write lock)."""
    env = {"DEBUG": "true", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    setup = "from django.db import connection; connection.cursor().execute('CREATE TABLE t (x integer)')"
    assert manage("shell", "--no-imports", "-c", setup, env=env).returncode == 0
    write = (
        "import time\n"
        "from django.db import connection, transaction\n"
        "with transaction.atomic(), connection.cursor() as c:\n"
        "    c.execute('SELECT count(*) FROM t'); n = c.fetchone()[0]\n"
        "    time.sleep(1)\n"
        "    c.execute('INSERT INTO t VALUES (%s)', [n])\n"
        "print('committed')\n"
    )
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL")}
    command = [sys.executable, "manage.py", "shell", "--no-imports", "-c", write]
    both = [
        subprocess.Popen(
            command, cwd=ROOT, env={**clean, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    results = [process.communicate(timeout=120) for process in both]

    assert [out.strip() for out, _ in results] == ["committed", "committed"], [err[-500:] for _, err in results]
    read = "from django.db import connection as c; print(c.cursor().execute('SELECT x FROM t ORDER BY x').fetchall())"
    # The second read what the first wrote: they ran one after the other.
    assert manage("shell", "--no-imports", "-c", read, env=env).stdout.strip() == "[(0,), (1,)]"


def test_without_any_environment_it_runs_on_sqlite_with_eager_tasks():
    code = (
        "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'], "
        "settings.CELERY_TASK_ALWAYS_EAGER, settings.MAILERS['default']['BACKEND'].rsplit('.', 2)[-2])"
    )
    result = manage("shell", "--no-imports", "-c", code, env={"DEBUG": "true"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.db.backends.sqlite3 True filebased"
