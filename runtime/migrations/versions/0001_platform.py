"""Platform tables: identity, apps and their versions, form catalogue, audit events, serials, files.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)
BIGID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade():
    op.create_table(
        "jimu_users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(150), nullable=False, unique=True),
        sa.Column("display_name", sa.String(200)),
        sa.Column("email", sa.String(320)),
        sa.Column("password_hash", sa.String(300)),
        sa.Column("is_admin", sa.Boolean, nullable=False),
        sa.Column("is_active", sa.Boolean, nullable=False),
        sa.Column("language", sa.String(10)),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "jimu_roles",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(100), nullable=False, unique=True),
        sa.Column("app_key", sa.String(100)),
        sa.Column("label", JSON),
        sa.Column("permissions", JSON, nullable=False),
        sa.Column("builder", sa.Boolean, nullable=False),
    )
    op.create_table(
        "jimu_user_roles",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("jimu_users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("role_id", sa.Integer, sa.ForeignKey("jimu_roles.id", ondelete="CASCADE"), primary_key=True),
    )
    op.create_table(
        "jimu_groups",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(100), nullable=False, unique=True),
        sa.Column("app_key", sa.String(100)),
        sa.Column("label", JSON),
        sa.Column("lead_id", sa.Integer, sa.ForeignKey("jimu_users.id", ondelete="SET NULL")),
    )
    op.create_table(
        "jimu_group_members",
        sa.Column("group_id", sa.Integer, sa.ForeignKey("jimu_groups.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("jimu_users.id", ondelete="CASCADE"), primary_key=True),
    )
    op.create_table(
        "jimu_api_tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("jimu_users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_used_at", TS),
        sa.Column("revoked", sa.Boolean, nullable=False),
    )
    op.create_table(
        "jimu_apps",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(100), nullable=False, unique=True),
        sa.Column("version", sa.String(50), nullable=False),
        sa.Column("label", JSON),
        sa.Column("package", JSON, nullable=False),
        sa.Column("installed_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "jimu_app_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("app_key", sa.String(100), nullable=False, index=True),
        sa.Column("version", sa.String(50), nullable=False),
        sa.Column("package", JSON, nullable=False),
        sa.Column("diff", JSON),
        sa.Column("installed_at", TS, nullable=False),
        sa.Column("installed_by", sa.Integer),
    )
    op.create_table(
        "jimu_forms",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(100), nullable=False, unique=True),
        sa.Column("app_key", sa.String(100), nullable=False, index=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("definition", JSON, nullable=False),
        sa.Column("table_name", sa.String(60), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
    )
    op.create_table(
        "jimu_form_fields",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("form_id", sa.Integer, sa.ForeignKey("jimu_forms.id", ondelete="CASCADE"), nullable=False),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("jimu_form_fields.id", ondelete="CASCADE")),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("widget", sa.String(100), nullable=False),
        sa.Column("storage", sa.String(20), nullable=False),
        sa.Column("physical_name", sa.String(60), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.UniqueConstraint("form_id", "parent_id", "physical_name"),
    )
    op.create_table(
        "jimu_catalog_revision",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("revision", sa.Integer, nullable=False),
    )
    op.create_table(
        "jimu_events",
        sa.Column("id", BIGID, primary_key=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("kind", sa.String(60), nullable=False),
        sa.Column("actor_id", sa.Integer),
        sa.Column("form_key", sa.String(100)),
        sa.Column("record_id", sa.BigInteger),
        sa.Column("data", JSON),
    )
    op.create_index("ix_jimu_events_record", "jimu_events", ["form_key", "record_id"])
    op.create_index("ix_jimu_events_kind_at", "jimu_events", ["kind", "at"])
    op.create_table(
        "jimu_serial_counters",
        sa.Column("form_key", sa.String(100), primary_key=True),
        sa.Column("field_key", sa.String(100), primary_key=True),
        sa.Column("period", sa.String(40), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "jimu_files",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("content_type", sa.String(200)),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("uploaded_by", sa.Integer),
        sa.Column("uploaded_at", TS, nullable=False),
    )
    op.execute(sa.text("INSERT INTO jimu_catalog_revision (id, revision) VALUES (1, 0)"))


def downgrade():
    for name in ("jimu_files", "jimu_serial_counters", "jimu_events", "jimu_catalog_revision",
                 "jimu_form_fields", "jimu_forms", "jimu_app_versions", "jimu_apps", "jimu_api_tokens",
                 "jimu_group_members", "jimu_groups", "jimu_user_roles", "jimu_roles", "jimu_users"):
        op.drop_table(name)
