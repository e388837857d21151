"""The access copy (Art. 15(3)): every system's export gathered into one sealed zip, served by link."""
from __future__ import annotations

import io
import json
import zipfile

from gdpr.lifecycle import CaseState
from streams.audit import audit
from streams.context import Context
from streams.intake import reference

README = """Copie de vos données personnelles / Copy of your personal data
Référence / Reference: {reference}

Chaque fichier <système>.json contient les données que ce système détient sur vous.
Each <system>.json file holds the data that system keeps about you.
"""


def build_access_package(ctx: Context, state: CaseState) -> None:
    """Assemble once (idempotent) and seal under the subject's key."""
    if ctx.exports.package(state.request_id) is not None:
        return
    parts = ctx.exports.parts(state.request_id)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", README.format(reference=reference(state.request_id)))
        for system, part in sorted(parts.items()):
            data = ctx.sealer.open(part)
            archive.writestr(f"{system}.json", json.dumps(data, ensure_ascii=False, indent=2))
    ctx.exports.put_package(state.request_id, ctx.sealer.seal_bytes(state.subject_ref, buffer.getvalue()))


def open_access_package(ctx: Context, request_id: str) -> bytes | None:
    package = ctx.exports.package(request_id)
    return ctx.sealer.open_bytes(package) if package is not None else None


async def expire_downloads(ctx: Context) -> None:
    """Access copies are deleted once their link has expired (sealed or not, they are not kept)."""
    for request_id in ctx.exports.delete_older_than(ctx.clock() - ctx.config.download_ttl):
        await audit(ctx, "download_expired", request_id=request_id, dedup="download_expired")
