"""an index for a customer's unpaid invoices (issue 26: Strona Główna flat in invoices)

Revision ID: c4f1a9d2e7b3
Revises: b9e2f4a6c801
Create Date: 2026-12-04 21:00:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "c4f1a9d2e7b3"
down_revision = "b9e2f4a6c801"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_invoices_customer_unpaid", "invoices", ["customer_id", "paid_on"])


def downgrade():
    op.drop_index("ix_invoices_customer_unpaid", table_name="invoices")
