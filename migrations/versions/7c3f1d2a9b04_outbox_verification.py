"""outbox messages name the verification whose code or link they carry

Revision ID: 7c3f1d2a9b04
Revises: 0e495b915a1c
Create Date: 2026-11-30 06:40:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "7c3f1d2a9b04"
down_revision = "0e495b915a1c"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verification_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_messages_verification_id_verifications"),
            "verifications",
            ["verification_id"],
            ["id"],
        )


def downgrade():
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_outbox_messages_verification_id_verifications"), type_="foreignkey"
        )
        batch_op.drop_column("verification_id")
