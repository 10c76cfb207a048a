"""grievances

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
from sqlalchemy import Text  # noqa: F401  (autogenerate renders JSONB(astext_type=Text()))
from sqlalchemy.dialects import postgresql  # noqa: F401

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('grievances',
    sa.Column('village_id', sa.Uuid(), nullable=False),
    sa.Column('habitation_id', sa.Uuid(), nullable=True),
    sa.Column('scheme_id', sa.Uuid(), nullable=True),
    sa.Column('component_id', sa.Uuid(), nullable=True),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('status', sa.String(length=24), nullable=True),
    sa.Column('routed_to_role', sa.String(length=40), nullable=True),
    sa.Column('routed_to_path', sa.String(length=255), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reopen_count', sa.Integer(), nullable=False),
    sa.Column('escalation_count', sa.Integer(), nullable=False),
    sa.Column('resolution_note', sa.Text(), nullable=True),
    sa.Column('rejection_reason', sa.Text(), nullable=True),
    sa.Column('breakdown_ticket', sa.String(length=64), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('lgd_path', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=True),
    sa.Column('updated_by', sa.String(length=120), nullable=True),
    sa.Column('source_system', sa.String(length=120), nullable=True),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['component_id'], ['components.id'], name=op.f('fk_grievances_component_id_components')),
    sa.ForeignKeyConstraint(['habitation_id'], ['admin_units.id'], name=op.f('fk_grievances_habitation_id_admin_units')),
    sa.ForeignKeyConstraint(['scheme_id'], ['schemes.id'], name=op.f('fk_grievances_scheme_id_schemes')),
    sa.ForeignKeyConstraint(['village_id'], ['admin_units.id'], name=op.f('fk_grievances_village_id_admin_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grievances')),
    sa.UniqueConstraint('code', name=op.f('uq_grievances_code'))
    )
    with op.batch_alter_table('grievances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grievances_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_grievances_channel'), ['channel'], unique=False)
        batch_op.create_index(batch_op.f('ix_grievances_component_id'), ['component_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_grievances_lgd_path'), ['lgd_path'], unique=False)
        batch_op.create_index(batch_op.f('ix_grievances_routed_to_path'), ['routed_to_path'], unique=False)
        batch_op.create_index(batch_op.f('ix_grievances_scheme_id'), ['scheme_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_grievances_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_grievances_submitted_at'), ['submitted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_grievances_village_id'), ['village_id'], unique=False)

    op.create_table('grievance_contacts',
    sa.Column('grievance_id', sa.Uuid(), nullable=False),
    sa.Column('ciphertext', sa.LargeBinary(), nullable=True),
    sa.Column('phone_hash', sa.String(length=64), nullable=True),
    sa.Column('pin_hash', sa.String(length=64), nullable=True),
    sa.Column('failed_pin_attempts', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['grievance_id'], ['grievances.id'], name=op.f('fk_grievance_contacts_grievance_id_grievances')),
    sa.PrimaryKeyConstraint('grievance_id', name=op.f('pk_grievance_contacts'))
    )
    with op.batch_alter_table('grievance_contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grievance_contacts_phone_hash'), ['phone_hash'], unique=False)

    op.create_table('grievance_inbound_messages',
    sa.Column('message_id', sa.String(length=120), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sender_hash', sa.String(length=64), nullable=False),
    sa.Column('command', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('grievance_id', sa.Uuid(), nullable=True),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=True),
    sa.ForeignKeyConstraint(['grievance_id'], ['grievances.id'], name=op.f('fk_grievance_inbound_messages_grievance_id_grievances')),
    sa.PrimaryKeyConstraint('message_id', name=op.f('pk_grievance_inbound_messages'))
    )
    with op.batch_alter_table('grievance_inbound_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grievance_inbound_messages_received_at'), ['received_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('grievance_inbound_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grievance_inbound_messages_received_at'))

    op.drop_table('grievance_inbound_messages')

    with op.batch_alter_table('grievance_contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grievance_contacts_phone_hash'))

    op.drop_table('grievance_contacts')

    with op.batch_alter_table('grievances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grievances_category'))
        batch_op.drop_index(batch_op.f('ix_grievances_channel'))
        batch_op.drop_index(batch_op.f('ix_grievances_component_id'))
        batch_op.drop_index(batch_op.f('ix_grievances_lgd_path'))
        batch_op.drop_index(batch_op.f('ix_grievances_routed_to_path'))
        batch_op.drop_index(batch_op.f('ix_grievances_scheme_id'))
        batch_op.drop_index(batch_op.f('ix_grievances_status'))
        batch_op.drop_index(batch_op.f('ix_grievances_submitted_at'))
        batch_op.drop_index(batch_op.f('ix_grievances_village_id'))

    op.drop_table('grievances')
