"""customers record when billing's file last carried them, and when retention removed
their personal data

Revision ID: b9e2f4a6c801
Revises: a7e3d51c9f20
Create Date: 2026-12-04 20:40:00.000000

"""

from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "b9e2f4a6c801"
down_revision = "a7e3d51c9f20"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_in_billing_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("personal_data_removed_at", sa.DateTime(), nullable=True))
        batch_op.create_index("ix_customers_last_in_billing_at", ["last_in_billing_at"])
    # The customers already here count as carried now: their retention period starts with
    # this upgrade, never before it.
    customers = sa.table("customers", sa.column("last_in_billing_at", sa.DateTime()))
    op.execute(customers.update().values(last_in_billing_at=datetime.now(UTC).replace(tzinfo=None)))


def downgrade():
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index("ix_customers_last_in_billing_at")
        batch_op.drop_column("personal_data_removed_at")
        batch_op.drop_column("last_in_billing_at")
