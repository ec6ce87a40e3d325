"""Alembic: the pipeline's `alembic upgrade head`, reversibility, drift from the models,
and the backward-compatibility rule of app/migrations/README.md."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from app.config import load_settings
from app.models import Base
from app.services import db
from app.tests.support import APP_DIR, REPO

VERSIONS = APP_DIR / "migrations" / "versions"
# Operations that can break the code still running during a rolling deploy.
BREAKING = {"drop_column", "drop_table", "rename_table", "drop_constraint", "execute"}


def _head() -> str:
    head = ScriptDirectory.from_config(Config(str(db.ALEMBIC_INI))).get_current_head()
    assert head is not None
    return head


def _fresh_database(postgres) -> dict[str, str]:
    name = f"m_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres.dsn("postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return {**postgres.env(), "DATABASE_NAME": name, "APP_ENV": "test"}


def _version(engine: sa.Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@pytest.mark.integration
def test_pipeline_command_upgrades_postgresql(postgres, tmp_path):
    """`alembic upgrade head`, from the directory that holds alembic.ini (the image's
    working directory), with nothing but the service's environment."""
    env = _fresh_database(postgres)
    alembic = shutil.which("alembic", path=str(Path(sys.executable).parent))
    process_env = {
        "PATH": os.environ["PATH"],
        "PYTHONSAFEPATH": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "TMPDIR": str(tmp_path),
        **env,
    }
    result = subprocess.run(
        [alembic, "upgrade", "head"],
        cwd=APP_DIR,
        env=process_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    engine = db.create_db_engine(load_settings(env))
    try:
        assert _version(engine) == _head()
    finally:
        engine.dispose()
    assert postgres.password not in result.stdout + result.stderr


@pytest.mark.integration
def test_postgresql_downgrade_and_upgrade_again(postgres):
    engine = db.create_db_engine(load_settings(_fresh_database(postgres)))
    config = Config(str(db.ALEMBIC_INI))
    try:
        for target, action in (
            ("head", command.upgrade),
            ("base", command.downgrade),
            ("head", command.upgrade),
        ):
            with engine.begin() as connection:
                config.attributes["connection"] = connection
                action(config, target)
        assert _version(engine) == _head()
    finally:
        engine.dispose()


@pytest.mark.integration
def test_postgresql_schema_matches_the_models(postgres):
    engine = db.create_db_engine(load_settings(_fresh_database(postgres)))
    try:
        db.migrate_to_head(engine)
        with engine.connect() as connection:
            diff = compare_metadata(
                MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata
            )
    finally:
        engine.dispose()
    assert diff == []


def test_sqlite_schema_matches_the_models(tmp_path):
    engine = db.create_db_engine(load_settings({"LOCAL_DATA_DIR": str(tmp_path)}))
    try:
        db.migrate_to_head(engine)
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert (_version(engine), diff) == (_head(), [])
    finally:
        engine.dispose()


def _operations(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    upgrade = next(
        node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "upgrade"
    )
    found = set()
    for node in ast.walk(upgrade):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "op"
        ):
            found.add(node.func.attr)
            if node.func.attr == "alter_column" and any(
                kw.arg in ("new_column_name", "type_")
                or (
                    kw.arg == "nullable"
                    and isinstance(kw.value, ast.Constant)
                    and kw.value.value is False
                )
                for kw in node.keywords
            ):
                found.add("alter_column (rename, retype or NOT NULL)")
    return found


@pytest.mark.parametrize("path", sorted(VERSIONS.glob("*.py")), ids=lambda p: p.name)
def test_migrations_are_backward_compatible(path):
    breaking = _operations(path) & (BREAKING | {"alter_column (rename, retype or NOT NULL)"})
    justified = re.search(
        r"^Contract: \S", ast.get_docstring(ast.parse(path.read_text())) or "", re.MULTILINE
    )
    assert not breaking or justified, (
        f"{path.name} uses {sorted(breaking)} in upgrade(); old tasks still run during a "
        "deploy. Split it into two releases, or add a 'Contract: <why nothing running uses "
        "it any more>' line to its docstring"
    )


def test_the_compatibility_check_catches_a_dropped_column(tmp_path):
    bad = tmp_path / "0002_drop.py"
    bad.write_text(
        '"""Drop."""\nfrom alembic import op\n\n\ndef upgrade():\n'
        '    op.drop_column("events", "actor")\n'
    )
    with pytest.raises(AssertionError, match="drop_column"):
        test_migrations_are_backward_compatible(bad)


def test_alembic_ini_is_found_from_the_repository_root():
    assert (REPO / "app" / "alembic.ini") == db.ALEMBIC_INI
