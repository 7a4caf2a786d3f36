"""accounts remember the e-Faktura address waiting for confirmation

Revision ID: 5b8e2f4c1a07
Revises: 7c3f1d2a9b04
Create Date: 2026-11-30 07:30:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "5b8e2f4c1a07"
down_revision = "7c3f1d2a9b04"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("einvoice_pending_address", sa.String(254), nullable=True))
        batch_op.add_column(sa.Column("einvoice_pending_source", sa.String(10), nullable=True))


def downgrade():
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("einvoice_pending_source")
        batch_op.drop_column("einvoice_pending_address")
