"""issue 24 (b): an opportunity has several contacts — the opportunity_contacts association replaces
opportunities.contact_id; each opportunity's one contact moves into it.

Revision ID: issue24b_opportunity_contacts
Revises: issue20_sign_in_sessions
"""
import sqlalchemy as sa
from alembic import op

revision = 'issue24b_opportunity_contacts'
down_revision = 'issue20_sign_in_sessions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('opportunity_contacts',
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_opportunity_contacts_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunities.id'], name=op.f('fk_opportunity_contacts_opportunity_id_opportunities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('opportunity_id', 'contact_id', name=op.f('pk_opportunity_contacts'))
    )
    with op.batch_alter_table('opportunity_contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_opportunity_contacts_contact_id'), ['contact_id'], unique=False)
    op.execute("INSERT INTO opportunity_contacts (opportunity_id, contact_id) "
               "SELECT id, contact_id FROM opportunities WHERE contact_id IS NOT NULL")
    with op.batch_alter_table('opportunities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_opportunities_contact_id'))
        batch_op.drop_constraint(batch_op.f('fk_opportunities_contact_id_contacts'), type_='foreignkey')
        batch_op.drop_column('contact_id')


def downgrade() -> None:
    with op.batch_alter_table('opportunities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_opportunities_contact_id_contacts'), 'contacts', ['contact_id'], ['id'], ondelete='CASCADE')
        batch_op.create_index(batch_op.f('ix_opportunities_contact_id'), ['contact_id'], unique=False)
    # one column holds one contact: the first of each opportunity's
    op.execute("UPDATE opportunities SET contact_id = (SELECT MIN(contact_id) FROM opportunity_contacts "
               "WHERE opportunity_contacts.opportunity_id = opportunities.id)")
    with op.batch_alter_table('opportunity_contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_opportunity_contacts_contact_id'))
    op.drop_table('opportunity_contacts')
