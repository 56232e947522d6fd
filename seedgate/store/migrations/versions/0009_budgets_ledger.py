"""Budgets, the keys linked to them, the append-only ledger and create idempotency keys; `tasks.billing` (what a
task reserved, against which budgets, at what price), `api_keys.limited`, and a partial index on each owner's
live tasks.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_ACTIVE = sa.text("status IN ('queued', 'running')")


def upgrade() -> None:
    op.create_table(
        "budgets",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("limit", sa.BigInteger),
        sa.Column("period", sa.String(8)),
        sa.Column("period_start", sa.Float, nullable=False),
        sa.Column("used", sa.BigInteger, nullable=False),
        sa.Column("models", sa.Text),
        sa.Column("expires_at", sa.Float),
        sa.Column("rpm", sa.Integer),
        sa.Column("window_start", sa.Float, nullable=False),
        sa.Column("window_count", sa.Integer, nullable=False),
        sa.Column("max_queued", sa.Integer),
        sa.Column("max_running", sa.Integer),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "key_budgets",
        sa.Column("key_id", sa.String(64), primary_key=True),
        sa.Column("budget_id", sa.String(64), primary_key=True),
    )
    op.create_index("ix_key_budgets_budget", "key_budgets", ["budget_id"])
    op.create_table(
        "ledger",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("budget_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("task_id", sa.String(64)),
        sa.Column("key_id", sa.String(64)),
        sa.Column("model", sa.String(200)),
        sa.Column("tokens", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("note", sa.Text),
    )
    op.create_index("ux_ledger_task_entry", "ledger", ["task_id", "budget_id", "kind"], unique=True)
    op.create_index("ix_ledger_budget_at", "ledger", ["budget_id", "at"])
    op.create_index("ix_ledger_key_at", "ledger", ["key_id", "at"])
    op.create_table(
        "idempotency",
        sa.Column("owner", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("task_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("ix_idempotency_created", "idempotency", ["created_at"])
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("billing", sa.Text))
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("limited", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_index(
        "ix_tasks_active_owner", "tasks", ["owner", "status"], sqlite_where=_ACTIVE, postgresql_where=_ACTIVE
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_active_owner", "tasks")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("limited")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("billing")
    op.drop_table("idempotency")
    op.drop_table("ledger")
    op.drop_table("key_budgets")
    op.drop_table("budgets")
