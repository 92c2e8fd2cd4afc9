"""Border model: parties, country outlines, border lines, sections, posts, crossings, markets, fence.

Geometry is GeoJSON in JSON columns (no PostGIS) with an indexed bounding box per row; see docs/border.md.

Revision ID: 0003_border
Revises: 0002_exchange
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sarhad.core.database import UtcDateTime

revision: str = "0003_border"
down_revision: str | None = "0002_exchange"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "border_country_outlines",
        sa.Column("iso2", sa.String(length=2), nullable=False),
        sa.Column("names", sa.JSON(), nullable=False),
        sa.Column("geometry", sa.JSON(), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=True),
        sa.Column("min_lat", sa.Float(), nullable=True),
        sa.Column("max_lon", sa.Float(), nullable=True),
        sa.Column("max_lat", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("iso2", name=op.f("pk_border_country_outlines")),
    )
    op.create_index(
        "ix_border_country_outlines_bbox",
        "border_country_outlines",
        ["min_lon", "min_lat", "max_lon", "max_lat"],
        unique=False,
    )
    op.create_table(
        "border_lines",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("names", sa.JSON(), nullable=False),
        sa.Column("left_party", sa.String(length=2), nullable=False),
        sa.Column("right_party", sa.String(length=2), nullable=False),
        sa.Column("geometry", sa.JSON(), nullable=False),
        sa.Column("length_m", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=True),
        sa.Column("min_lat", sa.Float(), nullable=True),
        sa.Column("max_lon", sa.Float(), nullable=True),
        sa.Column("max_lat", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_border_lines")),
    )
    op.create_index(
        "ix_border_lines_bbox", "border_lines", ["min_lon", "min_lat", "max_lon", "max_lat"], unique=False
    )
    op.create_table(
        "border_parties",
        sa.Column("code", sa.String(length=2), nullable=False),
        sa.Column("names", sa.JSON(), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("calendar", sa.String(length=16), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_border_parties")),
    )
    op.create_table(
        "border_sections",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("line_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("names", sa.JSON(), nullable=False),
        sa.Column("start_m", sa.Float(), nullable=False),
        sa.Column("end_m", sa.Float(), nullable=False),
        sa.Column("length_m", sa.Float(), nullable=False),
        sa.Column("geometry", sa.JSON(), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=True),
        sa.Column("min_lat", sa.Float(), nullable=True),
        sa.Column("max_lon", sa.Float(), nullable=True),
        sa.Column("max_lat", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["line_id"], ["border_lines.id"], name=op.f("fk_border_sections_line_id_border_lines")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_border_sections")),
    )
    op.create_index(
        "ix_border_sections_bbox",
        "border_sections",
        ["min_lon", "min_lat", "max_lon", "max_lat"],
        unique=False,
    )
    op.create_index(op.f("ix_border_sections_line_id"), "border_sections", ["line_id"], unique=False)
    op.create_table(
        "border_crossings",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("section_id", sa.String(length=32), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("names", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("modes", sa.JSON(), nullable=False),
        sa.Column("hours", sa.JSON(), nullable=False),
        sa.Column("opened", sa.Date(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=True),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'restricted', 'closed', 'unknown')", name=op.f("ck_border_crossings_status")
        ),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["border_sections.id"],
            name=op.f("fk_border_crossings_section_id_border_sections"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_border_crossings")),
    )
    op.create_index(op.f("ix_border_crossings_section_id"), "border_crossings", ["section_id"], unique=False)
    op.create_table(
        "border_fence_segments",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("party", sa.String(length=2), nullable=False),
        sa.Column("section_id", sa.String(length=32), nullable=False),
        sa.Column("start_fraction", sa.Float(), nullable=False),
        sa.Column("end_fraction", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("length_m", sa.Float(), nullable=False),
        sa.Column("reported_length_km", sa.Float(), nullable=True),
        sa.Column("geometry", sa.JSON(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=True),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=True),
        sa.Column("min_lat", sa.Float(), nullable=True),
        sa.Column("max_lon", sa.Float(), nullable=True),
        sa.Column("max_lat", sa.Float(), nullable=True),
        sa.CheckConstraint(
            "status IN ('planned', 'under_construction', 'complete')",
            name=op.f("ck_border_fence_segments_status"),
        ),
        sa.CheckConstraint(
            "start_fraction >= 0 AND start_fraction < end_fraction AND end_fraction <= 1",
            name=op.f("ck_border_fence_segments_fractions"),
        ),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["border_sections.id"],
            name=op.f("fk_border_fence_segments_section_id_border_sections"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_border_fence_segments")),
    )
    op.create_index(
        "ix_border_fence_segments_bbox",
        "border_fence_segments",
        ["min_lon", "min_lat", "max_lon", "max_lat"],
        unique=False,
    )
    op.create_index(op.f("ix_border_fence_segments_party"), "border_fence_segments", ["party"], unique=False)
    op.create_index(
        op.f("ix_border_fence_segments_section_id"), "border_fence_segments", ["section_id"], unique=False
    )
    op.create_table(
        "border_posts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("party", sa.String(length=2), nullable=False),
        sa.Column("section_id", sa.String(length=32), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("names", sa.JSON(), nullable=False),
        sa.Column("geometry", sa.JSON(), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=True),
        sa.Column("min_lat", sa.Float(), nullable=True),
        sa.Column("max_lon", sa.Float(), nullable=True),
        sa.Column("max_lat", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["section_id"], ["border_sections.id"], name=op.f("fk_border_posts_section_id_border_sections")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_border_posts")),
    )
    op.create_index(
        "ix_border_posts_bbox", "border_posts", ["min_lon", "min_lat", "max_lon", "max_lat"], unique=False
    )
    op.create_index(op.f("ix_border_posts_party"), "border_posts", ["party"], unique=False)
    op.create_index(op.f("ix_border_posts_section_id"), "border_posts", ["section_id"], unique=False)
    op.create_table(
        "border_crossing_sides",
        sa.Column("crossing_id", sa.String(length=64), nullable=False),
        sa.Column("party", sa.String(length=2), nullable=False),
        sa.Column("names", sa.JSON(), nullable=False),
        sa.Column("geometry", sa.JSON(), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=True),
        sa.Column("min_lat", sa.Float(), nullable=True),
        sa.Column("max_lon", sa.Float(), nullable=True),
        sa.Column("max_lat", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["crossing_id"],
            ["border_crossings.id"],
            name=op.f("fk_border_crossing_sides_crossing_id_border_crossings"),
        ),
        sa.PrimaryKeyConstraint("crossing_id", "party", name=op.f("pk_border_crossing_sides")),
    )
    op.create_index(
        "ix_border_crossing_sides_bbox",
        "border_crossing_sides",
        ["min_lon", "min_lat", "max_lon", "max_lat"],
        unique=False,
    )
    op.create_table(
        "border_markets",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("crossing_id", sa.String(length=64), nullable=True),
        sa.Column("section_id", sa.String(length=32), nullable=True),
        sa.Column("host_party", sa.String(length=2), nullable=False),
        sa.Column("names", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("schedule", sa.JSON(), nullable=False),
        sa.Column("inaugurated", sa.Date(), nullable=True),
        sa.Column("geometry", sa.JSON(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=True),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=True),
        sa.Column("min_lat", sa.Float(), nullable=True),
        sa.Column("max_lon", sa.Float(), nullable=True),
        sa.Column("max_lat", sa.Float(), nullable=True),
        sa.CheckConstraint(
            "status IN ('planned', 'operating', 'suspended', 'closed')", name=op.f("ck_border_markets_status")
        ),
        sa.ForeignKeyConstraint(
            ["crossing_id"],
            ["border_crossings.id"],
            name=op.f("fk_border_markets_crossing_id_border_crossings"),
        ),
        sa.ForeignKeyConstraint(
            ["section_id"], ["border_sections.id"], name=op.f("fk_border_markets_section_id_border_sections")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_border_markets")),
    )
    op.create_index(
        "ix_border_markets_bbox", "border_markets", ["min_lon", "min_lat", "max_lon", "max_lat"], unique=False
    )
    op.create_index(op.f("ix_border_markets_section_id"), "border_markets", ["section_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_border_markets_bbox", table_name="border_markets")
    op.drop_index(op.f("ix_border_markets_section_id"), table_name="border_markets")
    op.drop_table("border_markets")
    op.drop_index("ix_border_crossing_sides_bbox", table_name="border_crossing_sides")
    op.drop_table("border_crossing_sides")
    op.drop_index("ix_border_posts_bbox", table_name="border_posts")
    op.drop_index(op.f("ix_border_posts_party"), table_name="border_posts")
    op.drop_index(op.f("ix_border_posts_section_id"), table_name="border_posts")
    op.drop_table("border_posts")
    op.drop_index("ix_border_fence_segments_bbox", table_name="border_fence_segments")
    op.drop_index(op.f("ix_border_fence_segments_party"), table_name="border_fence_segments")
    op.drop_index(op.f("ix_border_fence_segments_section_id"), table_name="border_fence_segments")
    op.drop_table("border_fence_segments")
    op.drop_index(op.f("ix_border_crossings_section_id"), table_name="border_crossings")
    op.drop_table("border_crossings")
    op.drop_index("ix_border_sections_bbox", table_name="border_sections")
    op.drop_index(op.f("ix_border_sections_line_id"), table_name="border_sections")
    op.drop_table("border_sections")
    op.drop_table("border_parties")
    op.drop_index("ix_border_lines_bbox", table_name="border_lines")
    op.drop_table("border_lines")
    op.drop_index("ix_border_country_outlines_bbox", table_name="border_country_outlines")
    op.drop_table("border_country_outlines")
