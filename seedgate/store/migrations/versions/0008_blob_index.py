"""Blob collection and result retention by database rows instead of file times: the `blobs` table, an index on
`assets.blob`, and `tasks.files_deleted_at` with a partial index on the succeeded tasks whose results are stored.

Existing blobs get their rows when a node first lists its storage (BlobIndex.track); existing succeeded tasks
count as having their files, which is harmless where retention already removed them.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# As seedgate.store.schema.RESULTS_KEPT was when this migration was written.
_RESULTS_KEPT = sa.text("status = 'succeeded' AND files_deleted_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "blobs",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("touched_at", sa.Float, nullable=False),
        sa.Column("deleting_since", sa.Float),
    )
    op.create_index("ix_blobs_collect", "blobs", ["deleting_since", "touched_at"])
    op.create_index("ix_assets_blob", "assets", ["blob"])
    with op.batch_alter_table("tasks") as batch:  # an added column: no table copy on SQLite either
        batch.add_column(sa.Column("files_deleted_at", sa.Float))
    op.create_index(
        "ix_tasks_results_kept",
        "tasks",
        ["finished_at"],
        sqlite_where=_RESULTS_KEPT,
        postgresql_where=_RESULTS_KEPT,
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_results_kept", "tasks")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("files_deleted_at")
    op.drop_index("ix_assets_blob", "assets")
    op.drop_table("blobs")
