"""booking self-service: booking version (iCalendar SEQUENCE, stale reminders), cancel reason, reminder times

Revision ID: issue25b_booking_self_service
Revises: issue25a_team_meeting_types
"""
import sqlalchemy as sa
from alembic import op

revision = 'issue25b_booking_self_service'
down_revision = 'issue25a_team_meeting_types'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('cancel_reason', sa.Text(), nullable=True))
    with op.batch_alter_table('meeting_types', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminder_minutes', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('meeting_types', schema=None) as batch_op:
        batch_op.drop_column('reminder_minutes')
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_column('cancel_reason')
        batch_op.drop_column('version')
