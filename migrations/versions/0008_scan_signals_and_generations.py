"""scan signals and view generations without Redis

scan_events.network_hash: the salted hash of the client's network (/24, /48), so distinct
consumers of a code are counted by network (one client cannot fake several).
scan_generations: one counter per batch (0: every batch), raised in the same transaction as
a change the batch's consumer view shows; without Redis each worker checks its cached view
against it in the scan's one query.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 21:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('scan_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('network_hash', sa.String(length=64), nullable=True))
    op.create_table(
        'scan_generations',
        sa.Column('batch_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('batch_id', name=op.f('pk_scan_generations')),
    )


def downgrade():
    op.drop_table('scan_generations')
    with op.batch_alter_table('scan_events', schema=None) as batch_op:
        batch_op.drop_column('network_hash')
