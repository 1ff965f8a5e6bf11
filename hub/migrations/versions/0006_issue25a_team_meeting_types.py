"""team meeting types (round-robin, collective), booking questions, per-day limits and date overrides

Revision ID: issue25a_team_meeting_types
Revises: issue24b_opportunity_contacts
"""
import sqlalchemy as sa
from alembic import op

revision = 'issue25a_team_meeting_types'
down_revision = 'issue24b_opportunity_contacts'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('meeting_types', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=20), server_default='single', nullable=False))
        batch_op.add_column(sa.Column('questions', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('max_per_day', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('date_overrides', sa.JSON(), nullable=True))
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answers', sa.JSON(), nullable=True))
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('booking_answers', sa.JSON(), nullable=True))
    op.create_table('meeting_type_members',
    sa.Column('meeting_type_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('weight', sa.Integer(), nullable=False),
    sa.Column('weekly_hours', sa.JSON(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['meeting_type_id'], ['meeting_types.id'], name=op.f('fk_meeting_type_members_meeting_type_id_meeting_types'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_meeting_type_members_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_type_members')),
    sa.UniqueConstraint('meeting_type_id', 'user_id', name=op.f('uq_meeting_type_members_meeting_type_id_user_id'))
    )
    with op.batch_alter_table('meeting_type_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_type_members_user_id'), ['user_id'], unique=False)
    op.create_table('booking_hosts',
    sa.Column('booking_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], name=op.f('fk_booking_hosts_booking_id_bookings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_booking_hosts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_booking_hosts')),
    sa.UniqueConstraint('booking_id', 'user_id', name=op.f('uq_booking_hosts_booking_id_user_id'))
    )
    with op.batch_alter_table('booking_hosts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_booking_hosts_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('booking_hosts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_booking_hosts_user_id'))
    op.drop_table('booking_hosts')
    with op.batch_alter_table('meeting_type_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_type_members_user_id'))
    op.drop_table('meeting_type_members')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_column('booking_answers')
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_column('answers')
    with op.batch_alter_table('meeting_types', schema=None) as batch_op:
        batch_op.drop_column('date_overrides')
        batch_op.drop_column('max_per_day')
        batch_op.drop_column('questions')
        batch_op.drop_column('kind')
