"""Demo documents for the sandbox (`jaldpi demo`): a few real, small files written through the service.

For the first villages (by LGD code): a geotagged photo (a real PNG image) of a component that has coordinates, and
for the first two villages a Gram Sabha resolution (a real one-page PDF), public like every Har Ghar Jal document.
Each carries an external id ``sandbox=...``, so running the seed again changes nothing.
"""

from __future__ import annotations

import random
import struct
import zlib
from typing import Any

from sqlalchemy import select

from jaldpi.admin_units.models import AdminUnit
from jaldpi.assets.models import Component
from jaldpi.documents.service import store_document

VILLAGES = 6  # villages that get a photo
RESOLUTIONS = 2  # of those, villages that get a Gram Sabha resolution


def png_image(width: int, height: int, rgb: tuple[int, int, int], stripe: tuple[int, int, int]) -> bytes:
    """A real PNG (RFC 2083): a plain colour with a horizontal stripe; no imaging library needed."""
    rows = []
    for y in range(height):
        colour = stripe if height // 3 <= y < 2 * height // 3 else rgb
        rows.append(b"\x00" + bytes(colour) * width)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows)))
            + chunk(b"IEND", b""))


def pdf_page(lines: list[str]) -> bytes:
    """A real one-page PDF (ISO 32000) showing ``lines`` (ASCII) in Helvetica."""
    text = "BT /F1 14 Tf 72 760 Td 18 TL " + " ".join(
        f"({line.replace('(', '[').replace(')', ']')}) '" for line in lines) + " ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(text) + text.encode("ascii") + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer << /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def seed_demo(node, *, seed: int = 7) -> dict[str, int]:
    """Write a handful of demo documents; returns how many of each kind the sandbox now has from this seed."""
    from jaldpi.sandbox.generate import generator_principal

    rng = random.Random(seed)
    principal = generator_principal()
    counts = {"photos": 0, "resolutions": 0}
    with node.db.unit_of_work(write=False) as session:
        villages = session.execute(
            select(AdminUnit.id, AdminUnit.lgd_code, AdminUnit.name).where(
                AdminUnit.level == "village", AdminUnit.deleted_at.is_(None)).order_by(AdminUnit.lgd_code)
            .limit(VILLAGES)).all()
        components: dict[Any, Any] = {}
        for village_id, _code, _name in villages:
            components[village_id] = session.execute(
                select(Component.code, Component.component_type, Component.longitude, Component.latitude).where(
                    Component.village_id == village_id, Component.longitude.is_not(None),
                    Component.deleted_at.is_(None)).order_by(Component.code).limit(1)).first()
    for index, (village_id, lgd_code, name) in enumerate(villages):
        component = components[village_id]
        with node.db.unit_of_work() as session:
            if component is not None:
                colour = tuple(rng.randrange(60, 200) for _ in range(3))
                store_document(
                    session, principal, node.settings, content=png_image(48, 32, colour, (30, 110, 200)),
                    filename=f"{component.code}.png", media_type="image/png", document_type="photo",
                    admin_unit=str(village_id), title=f"{component.component_type} at {name}",
                    lon=component.longitude, lat=component.latitude, subject_type="components",
                    subject_id=component.code, external_ids={"sandbox": f"photo-{lgd_code}"},
                    catalogue=node.catalogue)
                counts["photos"] += 1
            if index < RESOLUTIONS:
                text = [f"Gram Sabha of {name} (LGD {lgd_code})", "Resolution: every household of the village has",
                        "a functional tap connection giving water of the prescribed quality.",
                        "No household is left out. (Sandbox document: synthetic.)"]
                store_document(
                    session, principal, node.settings, content=pdf_page(text), filename=f"resolution-{lgd_code}.pdf",
                    media_type="application/pdf", document_type="gram_sabha_resolution", admin_unit=str(village_id),
                    title=f"Gram Sabha resolution, {name}", public=True, subject_type="admin_units",
                    subject_id=str(village_id), external_ids={"sandbox": f"resolution-{lgd_code}"},
                    catalogue=node.catalogue)
                counts["resolutions"] += 1
    return counts
