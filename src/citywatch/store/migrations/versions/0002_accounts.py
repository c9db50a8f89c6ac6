"""Accounts and a keyed audit chain: normalised unique user names, token versions, sign-in
throttling, one approval per approver, `audit_log.keyed`.

Existing users get `name_key` (NFKC, case-folded, spaces collapsed). Users whose names
collide after normalising ("chief", "Chief", "chief ") keep their rows, but every one but
the oldest is disabled and keyed ``<key>#<id>`` so the admin can rename or delete them.
Repeated approvals of one plan by one approver (the audit log keeps each) are reduced to
the first. Existing audit records are marked unkeyed (plain SHA-256); the service seals
them with a keyed record on its next start (`citywatch.store.audit.seal`).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from citywatch.store.models import user_key

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("name_key", sa.String(64), nullable=True))
        batch.add_column(sa.Column("token_version", sa.Integer, nullable=False,
                                   server_default="0"))
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("name", sa.String),
                     sa.column("name_key", sa.String), sa.column("active", sa.Boolean))
    seen: set[str] = set()
    for uid, name in bind.execute(sa.select(users.c.id, users.c.name).order_by(users.c.id)):
        key = user_key(name)
        values: dict[str, object] = {"name_key": key}
        if key in seen:
            values = {"name_key": f"{key}#{uid}", "active": False}
        seen.add(key)
        bind.execute(users.update().where(users.c.id == uid).values(**values))
    # recreated with AUTOINCREMENT on SQLite: a deleted user's id is never reused
    with op.batch_alter_table("users", recreate="auto" if bind.dialect.name != "sqlite"
                              else "always",
                              table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.alter_column("name_key", existing_type=sa.String(64), nullable=False)
        batch.create_unique_constraint("uq_users_name_key", ["name_key"])
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("locked_until", sa.Float),
    )
    approvals = sa.table("approvals", sa.column("id", sa.Integer),
                         sa.column("plan_id", sa.Integer), sa.column("approver", sa.String))
    first = (sa.select(sa.func.min(approvals.c.id))
             .group_by(approvals.c.plan_id, approvals.c.approver))
    bind.execute(approvals.delete().where(approvals.c.id.not_in(first)))
    with op.batch_alter_table("approvals") as batch:
        batch.create_unique_constraint("uq_approvals_plan_approver", ["plan_id", "approver"])
    # ADD COLUMN touches no row, so the append-only triggers stay in place.
    op.add_column("audit_log", sa.Column("keyed", sa.Boolean, nullable=False,
                                         server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("keyed")
    with op.batch_alter_table("approvals") as batch:
        batch.drop_constraint("uq_approvals_plan_approver", type_="unique")
    op.drop_table("login_throttle")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("uq_users_name_key", type_="unique")
        batch.drop_column("token_version")
        batch.drop_column("name_key")
