"""calendar_events (calendar_id, recurring_event_id) index: a page's series found without reading the
calendar (a paged 20,000-event initial sync read every row on each of its 40 pages)

Revision ID: calendar_events_series_index
Revises: outbox_tried_at
"""
from alembic import op

revision = 'calendar_events_series_index'
down_revision = 'outbox_tried_at'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_calendar_events_calendar_series', 'calendar_events', ['calendar_id', 'recurring_event_id'])


def downgrade() -> None:
    op.drop_index('ix_calendar_events_calendar_series', table_name='calendar_events')
