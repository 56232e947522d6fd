"""The asset library: assets (also the audit queue) and asset groups.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assets",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("group_id", sa.String(64)),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source_url", sa.Text),
        sa.Column("blob", sa.String(64)),
        sa.Column("info", sa.Text, nullable=False),
        sa.Column("error_code", sa.String(200)),
        sa.Column("error_message", sa.Text),
        sa.Column("metadata", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_expires_at", sa.Float),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("ix_assets_owner_created", "assets", ["owner", "created_at"])
    op.create_index("ix_assets_status", "assets", ["status", "lease_expires_at"])
    op.create_index("ix_assets_expires", "assets", ["expires_at"])
    op.create_table(
        "asset_groups",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("group_type", sa.String(32), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index("ix_asset_groups_owner", "asset_groups", ["owner"])


def downgrade() -> None:
    op.drop_table("asset_groups")
    op.drop_table("assets")
