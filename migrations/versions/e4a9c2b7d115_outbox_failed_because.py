"""outbox messages say why they were given up

Revision ID: e4a9c2b7d115
Revises: c7d2e4f9a310
Create Date: 2026-12-04 14:30:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "e4a9c2b7d115"
down_revision = "c7d2e4f9a310"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failed_because", sa.String(length=10), nullable=True))


def downgrade():
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_column("failed_because")
