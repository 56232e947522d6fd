"""Webhook deliveries ordered per task and isolated per receiver: receiver, seq (status order), leased_until.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.add_column(sa.Column("receiver", sa.String(300), nullable=False, server_default=""))
        batch.add_column(sa.Column("seq", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("leased_until", sa.Float))
    # Deliveries still pending get their receiver, so that they are sent under the per-receiver limits too.
    table = sa.table(
        "webhook_deliveries", sa.column("id"), sa.column("url"), sa.column("receiver"), sa.column("status")
    )
    bind = op.get_bind()
    pending = bind.execute(sa.select(table.c.id, table.c.url).where(table.c.status == "pending")).all()
    for delivery_id, url in pending:
        bind.execute(table.update().where(table.c.id == delivery_id).values(receiver=_receiver(url)))


def _receiver(url: str) -> str:
    # A copy of seedgate.store.store.receiver_of as it was when this migration was written.
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return f"{parts.scheme.lower()}://{(parts.hostname or '').lower()}:{port}"[:300]
    except ValueError:
        return url[:300]


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.drop_column("leased_until")
        batch.drop_column("seq")
        batch.drop_column("receiver")
