"""The copies people download: access (Art. 15(3)) and portability (Art. 20), sealed zips served by link."""

from __future__ import annotations

import csv
import io
import json
import zipfile

from gdpr.lifecycle import CaseState
from schemas.intake import Right
from streams.audit import audit
from streams.context import Context
from streams.information_page import render_information
from streams.intake import reference
from streams.summary_page import render_summary

ACCESS_README = """Copie de vos données personnelles / Copy of your personal data
Référence / Reference: {reference}

summary.html présente vos données en tableaux lisibles. Chaque fichier <système>.json contient les
données que ce système détient sur vous ; le dossier csv/ les reprend en tableaux. information.html décrit les traitements : finalités, destinataires nommés,
durées de conservation avec vos propres dates, vos droits (article 15, paragraphe 1, du RGPD).
summary.html shows your data as readable tables. Each <system>.json file holds the data that system keeps
about you; the csv/ folder has the same as tables. information.html describes the processing: purposes, named recipients, retention periods with
your own dates, your rights (Art. 15(1) GDPR).
Fields named in "_inferred_fields" were derived by us (for example a lead score), not given by you.
"""

PORTABILITY_README = """Vos données portables / Your portable data (article 20 du RGPD / Art. 20 GDPR)
Référence / Reference: {reference}

Données que vous nous avez fournies et données observées sur votre activité, pour les traitements
fondés sur votre consentement ou sur un contrat ; les données déduites (par exemple un score) en sont
exclues mais restent accessibles au titre du droit d'accès.
Data you provided and data observed about your activity, for processing based on your consent or on a
contract; inferred data (for example a score) are excluded, but remain available under the right of access.

Format : JSON (<système>.json) et CSV (csv/<système>-<catégorie>.csv), UTF-8.
Champs / Fields: "_origin" = provided (fourni) | observed (observé); other fields are named as in our systems.
"""


ESTATE_README = """Informations utiles au règlement d'une succession / Information needed to settle an estate
(article 85, II, de la loi Informatique et Libertés / Art. 85-II of the French Data Protection Act)
Référence / Reference: {reference}

Seules les catégories de données jugées utiles au règlement de la succession figurent ici ; summary.html
les présente en tableaux, <système>.json et le dossier csv/ les reprennent.
Only the categories of data found useful to settle the estate are included; summary.html shows them as
tables, <system>.json and the csv/ folder hold the same.
"""


def person_records(ctx: Context, state: CaseState) -> dict[str, dict[str, list[dict]]]:
    """The person's exported records, per system, as the systems answered the export tasks."""
    return {system: ctx.sealer.open(part)["records"] for system, part in ctx.exports.parts(state.request_id).items()}


def build_access_package(ctx: Context, state: CaseState) -> None:
    """Assemble once (idempotent) and seal under the subject's key."""
    if ctx.exports.package(state.request_id) is not None:
        return
    parts = selected_records(ctx, state)
    portability, estate = state.right == Right.PORTABILITY, state.estate is not None
    readme = PORTABILITY_README if portability else ESTATE_README if estate else ACCESS_README
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", readme.format(reference=reference(state.request_id)))
        for system, records in sorted(parts.items()):
            write_system(archive, system, records)
        if not (portability or estate):  # Art. 15(1): the information about the processing, with own dates
            information = ctx.register.access_information(sorted(parts), parts)
            archive.writestr("information.json", json.dumps(information, ensure_ascii=False, indent=2))
            archive.writestr("information.html", render_information(information, reference(state.request_id)))
        if not portability:
            archive.writestr("summary.html", render_summary(parts, reference(state.request_id)))
    ctx.exports.put_package(state.request_id, ctx.sealer.seal_bytes(state.subject_ref, buffer.getvalue()))


def selected_records(ctx: Context, state: CaseState) -> dict[str, dict[str, list[dict]]]:
    """What the copy holds: everything (access), the portable part (R28), or what the DPO decided an heir
    obtains to settle the estate (LIL 85-II)."""
    parts = person_records(ctx, state)
    if state.right == Right.PORTABILITY:
        return {system: ctx.register.portable(system, records) for system, records in parts.items()}
    if state.estate is not None:
        granted = set(state.estate.categories)
        return {system: {c: rows for c, rows in records.items() if c in granted} for system, records in parts.items()}
    return parts


def write_system(archive: zipfile.ZipFile, system: str, records: dict[str, list[dict]]) -> None:
    archive.writestr(f"{system}.json", json.dumps({"system": system, "records": records}, ensure_ascii=False, indent=2))
    for category, rows in sorted(records.items()):
        if rows:
            archive.writestr(f"csv/{system}-{category}.csv", to_csv(rows))


def to_csv(rows: list[dict]) -> str:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {k: json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v for k, v in row.items()}
        )
    return out.getvalue()


def open_access_package(ctx: Context, request_id: str) -> bytes | None:
    package = ctx.exports.package(request_id)
    return ctx.sealer.open_bytes(package) if package is not None else None


async def expire_downloads(ctx: Context) -> None:
    """Access copies are deleted once their link has expired (sealed or not, they are not kept)."""
    for request_id in ctx.exports.delete_older_than(ctx.clock() - ctx.config.download_ttl):
        await audit(ctx, "download_expired", request_id=request_id, dedup="download_expired")
