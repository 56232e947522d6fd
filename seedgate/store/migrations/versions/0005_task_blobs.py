"""Blobs each task's inputs use (an index for the blob collector), filled from the existing tasks' specs.

Revision ID: 0005
Revises: 0004
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "task_blobs",
        sa.Column("task_id", sa.String(64), primary_key=True),
        sa.Column("digest", sa.String(64), primary_key=True),
    )
    op.create_index("ix_task_blobs_digest", "task_blobs", ["digest"])
    tasks = sa.table("tasks", sa.column("id"), sa.column("spec"))
    specs = op.get_bind().execute(sa.select(tasks.c.id, tasks.c.spec).where(tasks.c.spec.contains('"blob": "')))
    rows = [{"task_id": task_id, "digest": digest} for task_id, spec in specs for digest in _blobs(spec)]
    if rows:
        op.bulk_insert(table, rows)


def _blobs(spec: str) -> set[str]:
    return {m["blob"] for m in json.loads(spec).get("media", ()) if m.get("blob")}


def downgrade() -> None:
    op.drop_table("task_blobs")
