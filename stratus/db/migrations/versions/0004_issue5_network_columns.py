"""issue 5 network columns: availability_zone_hints of networks and routers

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 03:40:00

The one revision for issue 5's schema additions: until it is released, later
columns of that work are appended here (one ``batch_alter_table`` block per
table, its ``downgrade`` in reverse) rather than in a new revision.

- ``network.availability_zone_hints``, ``router.availability_zone_hints``
  (``network_availability_zone`` / ``router_availability_zone``): a JSON list
  of zone names, ``[]`` for rows made before this revision.
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('network', schema=None) as batch_op:
        batch_op.add_column(sa.Column('availability_zone_hints', sa.JSON(),
                                      server_default='[]', nullable=False))

    with op.batch_alter_table('router', schema=None) as batch_op:
        batch_op.add_column(sa.Column('availability_zone_hints', sa.JSON(),
                                      server_default='[]', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('router', schema=None) as batch_op:
        batch_op.drop_column('availability_zone_hints')

    with op.batch_alter_table('network', schema=None) as batch_op:
        batch_op.drop_column('availability_zone_hints')
