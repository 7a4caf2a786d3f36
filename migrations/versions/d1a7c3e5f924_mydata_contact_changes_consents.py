"""Moje dane: contact changes, marketing consents, e-Faktura records that outlive the account

Revision ID: d1a7c3e5f924
Revises: f3b8d5e1a6c2
Create Date: 2026-12-04 17:20:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "d1a7c3e5f924"
down_revision = "f3b8d5e1a6c2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "contact_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=20), nullable=False),
        sa.Column("old_value", sa.String(length=254), nullable=True),
        sa.Column("new_value", sa.String(length=254), nullable=False),
        sa.Column("verification_id", sa.Integer(), nullable=True),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=True),
        sa.Column("settled_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_contact_changes_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["verification_id"],
            ["verifications.id"],
            name=op.f("fk_contact_changes_verification_id_verifications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_changes")),
    )
    with op.batch_alter_table("contact_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_changes_changed_at"), ["changed_at"])
        batch_op.create_index(batch_op.f("ix_contact_changes_customer_id"), ["customer_id"])

    op.create_table(
        "marketing_consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("wording_version", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_marketing_consents_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketing_consents")),
    )
    with op.batch_alter_table("marketing_consents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_marketing_consents_customer_id"), ["customer_id"])
        batch_op.create_index(batch_op.f("ix_marketing_consents_recorded_at"), ["recorded_at"])

    # The e-Faktura consent's record stays when the online account is deleted: it then
    # names the customer instead.
    with op.batch_alter_table("einvoice_consents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_id", sa.Integer(), nullable=True))
        batch_op.alter_column("account_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(batch_op.f("ix_einvoice_consents_customer_id"), ["customer_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_einvoice_consents_customer_id_customers"),
            "customers",
            ["customer_id"],
            ["id"],
        )


def downgrade():
    with op.batch_alter_table("einvoice_consents", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_einvoice_consents_customer_id_customers"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_einvoice_consents_customer_id"))
        batch_op.alter_column("account_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("customer_id")
    with op.batch_alter_table("marketing_consents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_marketing_consents_recorded_at"))
        batch_op.drop_index(batch_op.f("ix_marketing_consents_customer_id"))
    op.drop_table("marketing_consents")
    with op.batch_alter_table("contact_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_changes_customer_id"))
        batch_op.drop_index(batch_op.f("ix_contact_changes_changed_at"))
    op.drop_table("contact_changes")
