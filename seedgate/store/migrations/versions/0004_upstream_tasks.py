"""Tasks handed to upstream channels.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "upstream_tasks",
        sa.Column("task_id", sa.String(64), primary_key=True),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(64)),
        sa.Column("upstream_id", sa.String(200)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("marker", sa.String(64), nullable=False),
        sa.Column("tried", sa.Text, nullable=False),
        sa.Column("sent_at", sa.Float),
        sa.Column("next_check_at", sa.Float, nullable=False),
        sa.Column("misses", sa.Integer, nullable=False, server_default="0"),
        sa.Column("upstream_status", sa.String(32)),
        sa.Column("note", sa.Text),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_expires_at", sa.Float),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index("ix_upstream_due", "upstream_tasks", ["lease_owner", "state", "next_check_at"])
    op.create_index("ix_upstream_channel", "upstream_tasks", ["channel", "upstream_id"])


def downgrade() -> None:
    op.drop_table("upstream_tasks")
