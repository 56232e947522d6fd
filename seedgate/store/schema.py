"""Table definitions, shared by the store's queries and the migrations."""

from __future__ import annotations

import sqlalchemy as sa

from seedgate.core.status import Status

metadata = sa.MetaData()

tasks = sa.Table(
    "tasks",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(64), nullable=False),
    sa.Column("dialect", sa.String(32), nullable=False),
    sa.Column("endpoint", sa.String(200), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("engine", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("service_tier", sa.String(16), nullable=False),
    # 0 for the default tier, 1 for flex: flex only runs when no default task waits.
    sa.Column("tier_rank", sa.Integer, nullable=False),
    sa.Column("priority", sa.Integer, nullable=False),
    sa.Column("spec", sa.Text, nullable=False),
    sa.Column("result", sa.Text),
    sa.Column("error_code", sa.String(200)),
    sa.Column("error_message", sa.Text),
    sa.Column("progress", sa.Float, nullable=False, server_default="0"),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("started_at", sa.Float),
    sa.Column("finished_at", sa.Float),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("lease_owner", sa.String(64)),
    sa.Column("lease_expires_at", sa.Float),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("files_deleted_at", sa.Float),  # when retention removed its result files (the row stays)
    # JSON: the budgets its create reserved against, the estimate and the price (core/limits.py Billing); NULL: none.
    sa.Column("billing", sa.Text),
    sa.Index("ix_tasks_claim", "status", "engine", "tier_rank", "priority", "created_at"),
    sa.Index("ix_tasks_owner_created", "owner", "created_at"),
    sa.Index("ix_tasks_status_expires", "status", "expires_at"),
)

# Succeeded tasks whose result files are still stored. A literal, not a bound parameter, in the index and in the
# query alike: SQLite (and a PostgreSQL generic plan) only uses a partial index for a query whose WHERE visibly
# implies the index's own. The index holds only these rows, so finding the next results to delete stays one short
# range read however many tasks (and already purged results) the table keeps.
SUCCEEDED = tasks.c.status == sa.literal_column(f"'{Status.SUCCEEDED.value}'")
FILES_KEPT = tasks.c.files_deleted_at.is_(None)
RESULTS_KEPT = sa.and_(SUCCEEDED, FILES_KEPT)
sa.Index("ix_tasks_results_kept", tasks.c.finished_at, sqlite_where=RESULTS_KEPT, postgresql_where=RESULTS_KEPT)
# A budget's queued and running tasks, counted under its row lock at create and claim: only the live few are indexed.
ACTIVE = tasks.c.status.in_(["queued", "running"])
sa.Index("ix_tasks_active_owner", tasks.c.owner, tasks.c.status, sqlite_where=ACTIVE, postgresql_where=ACTIVE)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("admin", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("revoked_at", sa.Float),
    # Linked to a budget: its creates take the budget path (a key without one never pays for the check).
    sa.Column("limited", sa.Boolean, nullable=False, server_default=sa.false()),
)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("task_id", sa.String(64), nullable=False, index=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # pending | delivered | dead | refused | superseded
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.Float, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("secret", sa.Text),  # the endpoint's own signing secret; NULL: the server-wide one
    # Where it goes (scheme://host:port): deliveries are isolated per receiver, so a slow one only delays its own.
    sa.Column("receiver", sa.String(300), nullable=False, server_default=""),
    # The task status's place in the lifecycle (0 queued, 1 running, 2 final): one task's deliveries to one URL go
    # out one at a time in this order, whatever the clocks of the nodes that wrote them.
    sa.Column("seq", sa.Integer, nullable=False, server_default="0"),
    sa.Column("leased_until", sa.Float),  # set while a node is sending it
    sa.Index("ix_webhooks_due", "status", "next_attempt_at"),
)

# Endpoints a key subscribed to events on (OpenAI's /v1/webhook_endpoints), each with its own signing secret.
webhook_endpoints = sa.Table(
    "webhook_endpoints",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(64), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("event_types", sa.Text, nullable=False),  # JSON array
    sa.Column("secret", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    # rotate_secret(keep_old_secret_active_for_24_hours): the old secret still signs, beside the new, until then.
    sa.Column("previous_secret", sa.Text),
    sa.Column("previous_secret_until", sa.Float),
)

# Media uploaded once and referenced as asset://ID; the row is also the audit's queue (status + lease).
assets = sa.Table(
    "assets",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(64), nullable=False),
    sa.Column("group_id", sa.String(64)),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(16)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("source_url", sa.Text),
    sa.Column("blob", sa.String(64)),
    sa.Column("info", sa.Text, nullable=False),  # JSON
    sa.Column("error_code", sa.String(200)),
    sa.Column("error_message", sa.Text),
    sa.Column("metadata", sa.Text, nullable=False),  # JSON
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("lease_owner", sa.String(64)),
    sa.Column("lease_expires_at", sa.Float),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Index("ix_assets_owner_created", "owner", "created_at"),
    sa.Index("ix_assets_status", "status", "lease_expires_at"),
    sa.Index("ix_assets_expires", "expires_at"),
    sa.Index("ix_assets_blob", "blob"),  # the blob collector asks whether any asset references a blob
)

asset_groups = sa.Table(
    "asset_groups",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(64), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("group_type", sa.String(32), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

# One row per task handed to an upstream channel: where it went, what upstream calls it, and the relay's own lease
# (a node follows the rows it leases; rows of a node that died are taken over when their lease runs out).
upstream_tasks = sa.Table(
    "upstream_tasks",
    metadata,
    sa.Column("task_id", sa.String(64), primary_key=True),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("channel", sa.String(64)),
    sa.Column("upstream_id", sa.String(200)),
    sa.Column("state", sa.String(16), nullable=False),  # waiting | sending | unsure | accepted | fetching | done
    sa.Column("marker", sa.String(64), nullable=False),
    sa.Column("tried", sa.Text, nullable=False),  # JSON: channels that refused this task
    sa.Column("sent_at", sa.Float),
    sa.Column("next_check_at", sa.Float, nullable=False),
    sa.Column("misses", sa.Integer, nullable=False, server_default="0"),
    sa.Column("upstream_status", sa.String(32)),
    sa.Column("note", sa.Text),
    sa.Column("lease_owner", sa.String(64)),
    sa.Column("lease_expires_at", sa.Float),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Index("ix_upstream_due", "lease_owner", "state", "next_check_at"),
    sa.Index("ix_upstream_channel", "channel", "upstream_id"),
)

# Which stored blobs each task's inputs use, so that the blob collector asks about its candidates by index instead
# of reading every task's spec (a remix or a retried attempt reads the inputs again). Written with the task.
task_blobs = sa.Table(
    "task_blobs",
    metadata,
    sa.Column("task_id", sa.String(64), primary_key=True),
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Index("ix_task_blobs_digest", "digest"),
)

# Every stored input blob, for collection without file times (object stores have none). A node touches a blob's
# row before it stores or reuses it; a collector marks unreferenced rows untouched for a grace period as deleting,
# deletes their objects, then forgets the rows (store/blobs.py has the protocol).
blobs = sa.Table(
    "blobs",
    metadata,
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("touched_at", sa.Float, nullable=False),
    sa.Column("deleting_since", sa.Float),
    # Leads with deleting_since: doom reads (NULL, touched_at < cutoff), stale_doomed (deleting_since < before).
    sa.Index("ix_blobs_collect", "deleting_since", "touched_at"),
)

# Budgets and limits shared by the keys linked to them (core/limits.py has the rules). `used` is what the current
# period has reserved and settled, kept with the row lock every create that counts against it takes.
budgets = sa.Table(
    "budgets",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("unit", sa.String(16), nullable=False),  # "tokens" or a currency code
    sa.Column("limit", sa.BigInteger),  # micro-units or tokens per period; NULL: no cap
    sa.Column("period", sa.String(8)),  # day | week | month; NULL: never resets
    sa.Column("period_start", sa.Float, nullable=False),
    sa.Column("used", sa.BigInteger, nullable=False),
    sa.Column("models", sa.Text),  # JSON array of allowed model IDs; NULL: any
    sa.Column("expires_at", sa.Float),
    sa.Column("rpm", sa.Integer),
    sa.Column("window_start", sa.Float, nullable=False),
    sa.Column("window_count", sa.Integer, nullable=False),
    sa.Column("max_queued", sa.Integer),
    sa.Column("max_running", sa.Integer),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

key_budgets = sa.Table(
    "key_budgets",
    metadata,
    sa.Column("key_id", sa.String(64), primary_key=True),
    sa.Column("budget_id", sa.String(64), primary_key=True),
    sa.Index("ix_key_budgets_budget", "budget_id"),
)

# The books: append-only. A task's reserve, then exactly one settle or refund per budget it counted against (the
# unique index makes a second one a no-op, whoever writes it); topups and adjustments by operators.
ledger = sa.Table(
    "ledger",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("budget_id", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # reserve | settle | refund | adjust
    sa.Column("amount", sa.BigInteger, nullable=False),  # signed, in the budget's unit
    sa.Column("task_id", sa.String(64)),
    sa.Column("key_id", sa.String(64)),
    sa.Column("model", sa.String(200)),
    sa.Column("tokens", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("note", sa.Text),
    sa.Index("ux_ledger_task_entry", "task_id", "budget_id", "kind", unique=True),
    sa.Index("ix_ledger_budget_at", "budget_id", "at"),
    sa.Index("ix_ledger_key_at", "key_id", "at"),
)

# A create's Idempotency-Key: the same key from the same caller answers the same task (written with the task).
idempotency_keys = sa.Table(
    "idempotency",
    metadata,
    sa.Column("owner", sa.String(64), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("task_id", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Index("ix_idempotency_created", "created_at"),
)

# Small shared values every node must agree on (URL signing and webhook secrets).
settings = sa.Table(
    "settings",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
