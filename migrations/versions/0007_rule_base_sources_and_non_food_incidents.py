"""rule base sources and non-food incidents

standard_limits gains the GB 2760 food category, the basis of the number and the combined
limit group; comparison gains quantum_satis (按生产需要适量使用); the clause column is
longer. non_food_incidents records each refused attempt to record a non-food substance;
substance_aliases holds the names regulators add for known substances.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 21:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

OLD = ('max', 'not_permitted', 'absent', 'label_tolerance')
NEW = OLD + ('quantum_satis',)


def upgrade():
    with op.batch_alter_table('standard_limits', schema=None) as batch_op:
        batch_op.add_column(sa.Column('gb2760_category', sa.String(length=20), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('basis', sa.String(length=120), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('combined_group', sa.String(length=40), nullable=False, server_default=''))
        batch_op.alter_column('clause', existing_type=sa.String(length=60), type_=sa.String(length=120), existing_nullable=False)
        batch_op.alter_column(
            'comparison',
            existing_type=sa.Enum(*OLD, name='comparison', native_enum=False, create_constraint=True),
            type_=sa.Enum(*NEW, name='comparison', native_enum=False, create_constraint=True),
            existing_nullable=False,
        )
    with op.batch_alter_table('standard_limits', schema=None) as batch_op:
        batch_op.alter_column('gb2760_category', server_default=None)
        batch_op.alter_column('basis', server_default=None)
        batch_op.alter_column('combined_group', server_default=None)

    op.create_table('non_food_incidents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workshop_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('substance_code', sa.String(length=40), nullable=False),
    sa.Column('substance_name', sa.String(length=100), nullable=False),
    sa.Column('entered_name', sa.String(length=100), nullable=False),
    sa.Column('amount', sa.String(length=40), nullable=False),
    sa.Column('listed_in', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], name=op.f('fk_non_food_incidents_batch_id_batches'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_non_food_incidents_user_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['workshop_id'], ['workshops.id'], name=op.f('fk_non_food_incidents_workshop_id_workshops'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_non_food_incidents'))
    )
    with op.batch_alter_table('non_food_incidents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_non_food_incidents_workshop_id'), ['workshop_id'], unique=False)

    op.create_table('substance_aliases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('normalised', sa.String(length=100), nullable=False),
    sa.Column('alias', sa.String(length=100), nullable=False),
    sa.Column('substance_code', sa.String(length=40), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_substance_aliases_added_by_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_substance_aliases')),
    sa.UniqueConstraint('normalised', name=op.f('uq_substance_aliases_normalised'))
    )


def downgrade():
    op.drop_table('substance_aliases')
    with op.batch_alter_table('non_food_incidents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_non_food_incidents_workshop_id'))
    op.drop_table('non_food_incidents')
    with op.batch_alter_table('standard_limits', schema=None) as batch_op:
        batch_op.alter_column(
            'comparison',
            existing_type=sa.Enum(*NEW, name='comparison', native_enum=False, create_constraint=True),
            type_=sa.Enum(*OLD, name='comparison', native_enum=False, create_constraint=True),
            existing_nullable=False,
        )
        batch_op.alter_column('clause', existing_type=sa.String(length=120), type_=sa.String(length=60), existing_nullable=False)
        batch_op.drop_column('combined_group')
        batch_op.drop_column('basis')
        batch_op.drop_column('gb2760_category')
