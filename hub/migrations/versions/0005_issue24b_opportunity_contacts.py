"""issue 24 (b): an opportunity has several contacts — the opportunity_contacts association replaces
opportunities.contact_id; each opportunity's one contact moves into it.

SQLite changes a column by copying the table and dropping the old one; with foreign keys on (as the
hub runs migrations, inside one transaction where the pragma cannot be turned off) that drop deletes
every row referencing an opportunity. So the rows that do — timeline entries and the contacts being
moved — are read first and written back after the copy.

Revision ID: issue24b_opportunity_contacts
Revises: issue20_sign_in_sessions
"""
from alembic import op
import sqlalchemy as sa


revision = 'issue24b_opportunity_contacts'
down_revision = 'issue20_sign_in_sessions'
branch_labels = None
depends_on = None


def _timeline_on_opportunities(conn) -> list[dict]:
    if conn.dialect.name != "sqlite":  # other databases alter in place: nothing cascades
        return []
    return [dict(row) for row in conn.execute(sa.text(
        "SELECT * FROM timeline_entries WHERE opportunity_id IS NOT NULL")).mappings()]


def _restore(conn, rows: list[dict]) -> None:
    if not rows:
        return
    present = set(conn.execute(sa.text("SELECT id FROM timeline_entries WHERE opportunity_id IS NOT NULL")).scalars())
    missing = [row for row in rows if row["id"] not in present]
    if missing:
        columns = list(missing[0])
        conn.execute(sa.text(f"INSERT INTO timeline_entries ({', '.join(columns)}) "
                             f"VALUES ({', '.join(':' + c for c in columns)})"), missing)


def upgrade() -> None:
    conn = op.get_bind()
    pairs = [{"opportunity_id": o, "contact_id": c} for o, c in conn.execute(sa.text(
        "SELECT id, contact_id FROM opportunities WHERE contact_id IS NOT NULL"))]
    timeline = _timeline_on_opportunities(conn)
    with op.batch_alter_table('opportunities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_opportunities_contact_id'))
        batch_op.drop_constraint(batch_op.f('fk_opportunities_contact_id_contacts'), type_='foreignkey')
        batch_op.drop_column('contact_id')
    _restore(conn, timeline)
    op.create_table('opportunity_contacts',
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_opportunity_contacts_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunities.id'], name=op.f('fk_opportunity_contacts_opportunity_id_opportunities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('opportunity_id', 'contact_id', name=op.f('pk_opportunity_contacts'))
    )
    with op.batch_alter_table('opportunity_contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_opportunity_contacts_contact_id'), ['contact_id'], unique=False)
    if pairs:
        conn.execute(sa.text("INSERT INTO opportunity_contacts (opportunity_id, contact_id) "
                             "VALUES (:opportunity_id, :contact_id)"), pairs)


def downgrade() -> None:
    conn = op.get_bind()
    # one column holds one contact: the first of each opportunity's
    firsts = [{"id": o, "contact_id": c} for o, c in conn.execute(sa.text(
        "SELECT opportunity_id, MIN(contact_id) FROM opportunity_contacts GROUP BY opportunity_id"))]
    with op.batch_alter_table('opportunity_contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_opportunity_contacts_contact_id'))
    op.drop_table('opportunity_contacts')
    timeline = _timeline_on_opportunities(conn)
    with op.batch_alter_table('opportunities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_opportunities_contact_id_contacts'), 'contacts', ['contact_id'], ['id'], ondelete='CASCADE')
        batch_op.create_index(batch_op.f('ix_opportunities_contact_id'), ['contact_id'], unique=False)
    _restore(conn, timeline)
    if firsts:
        conn.execute(sa.text("UPDATE opportunities SET contact_id = :contact_id WHERE id = :id"), firsts)
