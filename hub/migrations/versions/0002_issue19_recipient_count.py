"""mail_messages.recipient_count: how many recipients a message named, when only part are stored

Revision ID: issue19_recipient_count
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "issue19_recipient_count"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mail_messages") as batch:
        batch.add_column(sa.Column("recipient_count", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("mail_messages") as batch:
        batch.drop_column("recipient_count")
