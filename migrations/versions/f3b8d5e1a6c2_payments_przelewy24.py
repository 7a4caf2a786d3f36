"""payments through the payment provider (SPEC §14) and the invoices each pays

Revision ID: f3b8d5e1a6c2
Revises: e4a9c2b7d115
Create Date: 2026-12-04 17:30:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "f3b8d5e1a6c2"
down_revision = "e4a9c2b7d115"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("redirect_url", sa.String(length=500), nullable=True),
        sa.Column("order_id", sa.BigInteger(), nullable=True),
        sa.Column("method_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("paid_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("confirmation_sent_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_payments_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("session_id", name=op.f("uq_payments_session_id")),
    )
    op.create_index(op.f("ix_payments_customer_id"), "payments", ["customer_id"])
    op.create_index(op.f("ix_payments_state"), "payments", ["state"])
    op.create_table(
        "payment_invoices",
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_payment_invoices_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_payment_invoices_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("payment_id", "invoice_id", name=op.f("pk_payment_invoices")),
    )
    op.create_index(op.f("ix_payment_invoices_invoice_id"), "payment_invoices", ["invoice_id"])


def downgrade():
    op.drop_index(op.f("ix_payment_invoices_invoice_id"), table_name="payment_invoices")
    op.drop_table("payment_invoices")
    op.drop_index(op.f("ix_payments_state"), table_name="payments")
    op.drop_index(op.f("ix_payments_customer_id"), table_name="payments")
    op.drop_table("payments")
