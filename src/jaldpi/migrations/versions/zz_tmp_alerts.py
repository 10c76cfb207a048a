"""TEMPORARY (alerts work in progress; the real migration is generated separately)

Revision ID: zz_tmp_alerts
Revises: 0003
"""
from alembic import op

revision = 'zz_tmp_alerts'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    from jaldpi.alerts.models import Alert

    Alert.__table__.create(op.get_bind())


def downgrade() -> None:
    op.drop_table('alerts')
