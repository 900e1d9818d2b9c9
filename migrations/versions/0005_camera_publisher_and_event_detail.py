"""camera publisher and event detail

cameras.publisher_id: the streaming server's connection now publishing, so the end of a
second, refused connection does not mark a live camera offline. camera_events.detail: why
a publish was refused, or what a probe saw.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 11:06:09.460726

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('camera_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('detail', sa.String(length=100), nullable=True))

    with op.batch_alter_table('cameras', schema=None) as batch_op:
        batch_op.add_column(sa.Column('publisher_id', sa.String(length=80), nullable=True))


def downgrade():
    with op.batch_alter_table('cameras', schema=None) as batch_op:
        batch_op.drop_column('publisher_id')

    with op.batch_alter_table('camera_events', schema=None) as batch_op:
        batch_op.drop_column('detail')

