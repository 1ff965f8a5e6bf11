"""outbox tried_at: when a push of an entry began (a create retried after an older version may have
reached the provider is followed by an update)

Revision ID: outbox_tried_at
Revises: booking_notices_handled
"""
import sqlalchemy as sa
from alembic import op

import hub.models.base

revision = 'outbox_tried_at'
down_revision = 'booking_notices_handled'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tried_at', hub.models.base.UTCDateTime(), nullable=True))
    # an entry that failed before may have reached the provider: count it as tried
    op.execute("UPDATE outbox SET tried_at = created_at WHERE attempts > 0")


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('tried_at')
