"""accounts remember the customer's interface language (SPEC §12)

Revision ID: c7d2e4f9a310
Revises: b5e1c0a7d913
Create Date: 2026-12-01 09:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "c7d2e4f9a310"
down_revision = "b5e1c0a7d913"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(5), nullable=True))


def downgrade():
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("language")
