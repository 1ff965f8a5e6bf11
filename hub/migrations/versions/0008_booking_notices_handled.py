"""booking notices handled: the last version e-mailed to the guest and the host (lost notices are re-queued)

Revision ID: booking_notices_handled
Revises: issue25b_booking_self_service
"""
import sqlalchemy as sa
from alembic import op

revision = 'booking_notices_handled'
down_revision = 'issue25b_booking_self_service'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('guest_notified_version', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('host_notified_version', sa.Integer(), nullable=True))
    # bookings made before this were announced the old way: count them as handled, so none is mailed twice
    op.execute("UPDATE bookings SET guest_notified_version = version, host_notified_version = version")


def downgrade() -> None:
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_column('host_notified_version')
        batch_op.drop_column('guest_notified_version')
