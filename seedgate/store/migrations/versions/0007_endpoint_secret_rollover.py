"""Webhook endpoints keep their previous secret while a rotation asks for it (keep_old_secret_active_for_24_hours).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.add_column(sa.Column("previous_secret", sa.Text))
        batch.add_column(sa.Column("previous_secret_until", sa.Float))


def downgrade() -> None:
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.drop_column("previous_secret_until")
        batch.drop_column("previous_secret")
