"""batches by production date for the recall report

ix_batches_produced_on: the recall report for a production date range selects batches of
the whole district by date; the existing (workshop_id, produced_on) index cannot serve it
(bench/trace.py checks the plan: a sequential scan of batches without it).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 11:53:33.491831

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.create_index('ix_batches_produced_on', ['produced_on'], unique=False)


def downgrade():
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.drop_index('ix_batches_produced_on')
