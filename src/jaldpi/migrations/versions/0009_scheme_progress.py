"""scheme progress: component estimates (work items) and progress updates (registries)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy import Text  # noqa: F401  (autogenerate renders JSONB(astext_type=Text()))
from sqlalchemy.dialects import postgresql  # noqa: F401

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('component_estimates',
    sa.Column('component_id', sa.Uuid(), nullable=False),
    sa.Column('scheme_id', sa.Uuid(), nullable=False),
    sa.Column('item', sa.String(length=200), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('estimated_quantity', sa.Numeric(precision=16, scale=3), nullable=False),
    sa.Column('estimated_cost_inr', sa.Numeric(precision=16, scale=2), nullable=False),
    sa.Column('attributes', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
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
    sa.ForeignKeyConstraint(['component_id'], ['components.id'], name=op.f('fk_component_estimates_component_id_components')),
    sa.ForeignKeyConstraint(['scheme_id'], ['schemes.id'], name=op.f('fk_component_estimates_scheme_id_schemes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_component_estimates')),
    sa.UniqueConstraint('code', name=op.f('uq_component_estimates_code'))
    )

    with op.batch_alter_table('component_estimates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_component_estimates_component_id'), ['component_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_component_estimates_lgd_path'), ['lgd_path'], unique=False)
        batch_op.create_index(batch_op.f('ix_component_estimates_scheme_id'), ['scheme_id'], unique=False)

    op.create_table('progress_updates',
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('estimate_id', sa.Uuid(), nullable=True),
    sa.Column('component_id', sa.Uuid(), nullable=True),
    sa.Column('scheme_id', sa.Uuid(), nullable=False),
    sa.Column('quantity_done', sa.Numeric(precision=16, scale=3), nullable=True),
    sa.Column('percent_complete', sa.Numeric(precision=7, scale=2), nullable=True),
    sa.Column('photo_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('sanctioned_inr', sa.Numeric(precision=16, scale=2), nullable=True),
    sa.Column('released_central_inr', sa.Numeric(precision=16, scale=2), nullable=True),
    sa.Column('released_state_inr', sa.Numeric(precision=16, scale=2), nullable=True),
    sa.Column('released_community_inr', sa.Numeric(precision=16, scale=2), nullable=True),
    sa.Column('expenditure_inr', sa.Numeric(precision=16, scale=2), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('remarks', sa.Text(), nullable=True),
    sa.Column('attributes', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('warnings', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('return_reasons', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=True),
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
    sa.ForeignKeyConstraint(['component_id'], ['components.id'], name=op.f('fk_progress_updates_component_id_components')),
    sa.ForeignKeyConstraint(['estimate_id'], ['component_estimates.id'], name=op.f('fk_progress_updates_estimate_id_component_estimates')),
    sa.ForeignKeyConstraint(['scheme_id'], ['schemes.id'], name=op.f('fk_progress_updates_scheme_id_schemes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_progress_updates')),
    sa.UniqueConstraint('code', name=op.f('uq_progress_updates_code'))
    )

    with op.batch_alter_table('progress_updates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_progress_updates_as_of'), ['as_of'], unique=False)
        batch_op.create_index(batch_op.f('ix_progress_updates_component_id'), ['component_id'], unique=False)
        batch_op.create_index('ix_progress_updates_current', ['kind', 'is_current', 'lgd_path'], unique=False)
        batch_op.create_index(batch_op.f('ix_progress_updates_estimate_id'), ['estimate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_progress_updates_lgd_path'), ['lgd_path'], unique=False)
        batch_op.create_index(batch_op.f('ix_progress_updates_scheme_id'), ['scheme_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_progress_updates_status'), ['status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('progress_updates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_progress_updates_status'))
        batch_op.drop_index(batch_op.f('ix_progress_updates_scheme_id'))
        batch_op.drop_index(batch_op.f('ix_progress_updates_lgd_path'))
        batch_op.drop_index(batch_op.f('ix_progress_updates_estimate_id'))
        batch_op.drop_index('ix_progress_updates_current')
        batch_op.drop_index(batch_op.f('ix_progress_updates_component_id'))
        batch_op.drop_index(batch_op.f('ix_progress_updates_as_of'))

    op.drop_table('progress_updates')

    with op.batch_alter_table('component_estimates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_component_estimates_scheme_id'))
        batch_op.drop_index(batch_op.f('ix_component_estimates_lgd_path'))
        batch_op.drop_index(batch_op.f('ix_component_estimates_component_id'))

    op.drop_table('component_estimates')

