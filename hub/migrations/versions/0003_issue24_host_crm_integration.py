"""issue 24: the host CRM's records carry external ids and an organization; integration tokens,
the event outbox, webhook endpoints and their deliveries.

Revision ID: issue24_host_crm_integration
Revises: issue19_recipient_count
Create Date: 2026-12-06 21:48:29.820856
"""
import sqlalchemy as sa
from alembic import op

import hub.models.base

revision = 'issue24_host_crm_integration'
down_revision = 'issue19_recipient_count'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('events',
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', hub.models.base.UTCDateTime(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_events_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events')),
    sa.UniqueConstraint('event_id', name=op.f('uq_events_event_id'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_events_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_events_org_id', ['organization_id', 'id'], unique=False)

    op.create_table('webhook_endpoints',
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('event_types', sa.JSON(), nullable=False),
    sa.Column('secret', hub.models.base.EncryptedJSON(), nullable=False),
    sa.Column('allow_private', sa.Boolean(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('disabled_reason', sa.Text(), nullable=True),
    sa.Column('failing_since', hub.models.base.UTCDateTime(), nullable=True),
    sa.Column('created_at', hub.models.base.UTCDateTime(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_webhook_endpoints_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoints'))
    )
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_endpoints_organization_id'), ['organization_id'], unique=False)

    op.create_table('integration_tokens',
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('token_hash', sa.String(length=128), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', hub.models.base.UTCDateTime(), nullable=False),
    sa.Column('last_used_at', hub.models.base.UTCDateTime(), nullable=True),
    sa.Column('revoked_at', hub.models.base.UTCDateTime(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_integration_tokens_created_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_integration_tokens_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_integration_tokens_token_hash'))
    )
    with op.batch_alter_table('integration_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_integration_tokens_organization_id'), ['organization_id'], unique=False)

    op.create_table('webhook_deliveries',
    sa.Column('endpoint_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', hub.models.base.UTCDateTime(), nullable=True),
    sa.Column('last_attempt_at', hub.models.base.UTCDateTime(), nullable=True),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('delivered_at', hub.models.base.UTCDateTime(), nullable=True),
    sa.Column('failed_at', hub.models.base.UTCDateTime(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoints.id'], name=op.f('fk_webhook_deliveries_endpoint_id_webhook_endpoints'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_webhook_deliveries_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries')),
    sa.UniqueConstraint('endpoint_id', 'event_id', name=op.f('uq_webhook_deliveries_endpoint_id_event_id'))
    )
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_deliveries_event_id'), ['event_id'], unique=False)
        batch_op.create_index('ix_webhook_deliveries_pending', ['delivered_at', 'next_attempt_at'], unique=False)

    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('organization_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('external_id', sa.String(length=255), nullable=True))
        batch_op.create_index(batch_op.f('ix_companies_organization_id'), ['organization_id'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_companies_organization_id_external_id'), ['organization_id', 'external_id'])
        batch_op.create_foreign_key(batch_op.f('fk_companies_organization_id_organizations'), 'organizations', ['organization_id'], ['id'], ondelete='CASCADE')

    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('organization_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('external_id', sa.String(length=255), nullable=True))
        batch_op.create_index(batch_op.f('ix_contacts_organization_id'), ['organization_id'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_contacts_organization_id_external_id'), ['organization_id', 'external_id'])
        batch_op.create_foreign_key(batch_op.f('fk_contacts_organization_id_organizations'), 'organizations', ['organization_id'], ['id'], ondelete='CASCADE')

    with op.batch_alter_table('opportunities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('organization_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('external_id', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('stage', sa.String(length=64), nullable=False, server_default=''))
        batch_op.create_index(batch_op.f('ix_opportunities_organization_id'), ['organization_id'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_opportunities_organization_id_external_id'), ['organization_id', 'external_id'])
        batch_op.create_foreign_key(batch_op.f('fk_opportunities_organization_id_organizations'), 'organizations', ['organization_id'], ['id'], ondelete='CASCADE')

    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_id', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('free_mail_domains', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.create_unique_constraint(batch_op.f('uq_organizations_external_id'), ['external_id'])

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_id', sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_users_organization_id_external_id'), ['organization_id', 'external_id'])

    # lookups compare lower-cased addresses and domains: indexes on exactly those expressions
    op.create_index('ix_contact_addresses_lower_email', 'contact_addresses', [sa.text('lower(email)')])
    op.create_index('ix_company_domains_lower_domain', 'company_domains', [sa.text('lower(domain)')])
    op.create_index('ix_user_aliases_lower_email', 'user_aliases', [sa.text('lower(email)')])



def downgrade() -> None:
    op.drop_index('ix_user_aliases_lower_email', 'user_aliases')
    op.drop_index('ix_company_domains_lower_domain', 'company_domains')
    op.drop_index('ix_contact_addresses_lower_email', 'contact_addresses')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_organization_id_external_id'), type_='unique')
        batch_op.drop_column('external_id')

    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_organizations_external_id'), type_='unique')
        batch_op.drop_column('free_mail_domains')
        batch_op.drop_column('external_id')

    with op.batch_alter_table('opportunities', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_opportunities_organization_id_organizations'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_opportunities_organization_id_external_id'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_opportunities_organization_id'))
        batch_op.drop_column('stage')
        batch_op.drop_column('external_id')
        batch_op.drop_column('organization_id')

    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_contacts_organization_id_organizations'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_contacts_organization_id_external_id'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_contacts_organization_id'))
        batch_op.drop_column('external_id')
        batch_op.drop_column('organization_id')

    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_companies_organization_id_organizations'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_companies_organization_id_external_id'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_companies_organization_id'))
        batch_op.drop_column('external_id')
        batch_op.drop_column('organization_id')

    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_deliveries_pending')
        batch_op.drop_index(batch_op.f('ix_webhook_deliveries_event_id'))

    op.drop_table('webhook_deliveries')
    with op.batch_alter_table('integration_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_integration_tokens_organization_id'))

    op.drop_table('integration_tokens')
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_endpoints_organization_id'))

    op.drop_table('webhook_endpoints')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_org_id')
        batch_op.drop_index(batch_op.f('ix_events_created_at'))

    op.drop_table('events')
