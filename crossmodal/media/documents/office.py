"""Office documents: OOXML (DOCX, PPTX, XLSX) and ODF (ODT, ODP, ODS), read from the XML inside
their zip with caps and without entity expansion. Slides and sheets label their passages."""

from __future__ import annotations

import re
from pathlib import Path

from ...errors import MediaError
from .archive import SafeZip, iter_xml, local, paragraphs, text_of
from .base import Document, max_pages

_SKIP_OOXML = frozenset({"instrText", "delText", "fldChar"})


def _number(name: str) -> int:
    found = re.search(r"(\d+)\.xml$", name)
    return int(found.group(1)) if found else 0


def _title(archive: SafeZip, part: str) -> str | None:
    if not archive.has(part):
        return None
    for element in iter_xml(archive.read(part, 1 << 20)):
        if local(element.tag) == "title" and (element.text or "").strip():
            return " ".join(element.text.split())[:300]
    return None


def read_docx(path: Path) -> Document:
    doc = Document(meta={"format": "docx"})
    with SafeZip(path) as archive:
        parts = ["word/document.xml"] + sorted(
            (n for n in archive.names() if re.match(r"word/(footnotes|endnotes)\.xml$", n)),
        )
        for part in parts:
            if not archive.has(part):
                continue
            text = "\n".join(paragraphs(archive.read(part), {"p"}, _SKIP_OOXML))
            if not doc.add(text):
                break
        _set_title(doc, _title(archive, "docProps/core.xml"))
    return doc


def read_pptx(path: Path) -> Document:
    doc = Document(meta={"format": "pptx"})
    with SafeZip(path) as archive:
        slides = sorted(
            (n for n in archive.names() if re.match(r"ppt/slides/slide\d+\.xml$", n)), key=_number
        )
        doc.meta["pages"] = len(slides)
        for count, part in enumerate(slides[: max_pages()], 1):
            notes = f"ppt/notesSlides/notesSlide{_number(part)}.xml"
            text = "\n".join(paragraphs(archive.read(part), {"p"}, _SKIP_OOXML))
            if archive.has(notes):
                text += "\n" + "\n".join(paragraphs(archive.read(notes), {"p"}, _SKIP_OOXML))
            if not doc.add(text, f"slide {count}"):
                break
        _set_title(doc, _title(archive, "docProps/core.xml"))
    return doc


def _shared_strings(archive: SafeZip) -> list[str]:
    if not archive.has("xl/sharedStrings.xml"):
        return []
    return list(paragraphs(archive.read("xl/sharedStrings.xml"), {"si"}, frozenset({"rPh"})))


def _sheets(archive: SafeZip) -> list[tuple[str, str]]:
    """(sheet name, part) in workbook order, through workbook.xml and its relationships; parts
    in number order when the workbook does not say."""
    parts = sorted(
        (n for n in archive.names() if re.match(r"xl/worksheets/sheet\d+\.xml$", n)), key=_number
    )
    targets: dict[str, str] = {}
    if archive.has("xl/_rels/workbook.xml.rels"):
        for element in iter_xml(archive.read("xl/_rels/workbook.xml.rels", 1 << 20)):
            if local(element.tag) == "Relationship" and element.get("Target"):
                target = element.get("Target").lstrip("/")
                targets[element.get("Id", "")] = (
                    target if target.startswith("xl/") else f"xl/{target}"
                )
    named: list[tuple[str, str]] = []
    if archive.has("xl/workbook.xml"):
        for element in iter_xml(archive.read("xl/workbook.xml", 8 << 20)):
            if local(element.tag) == "sheet":
                rid = next((v for k, v in element.attrib.items() if local(k) == "id"), "")
                named.append((element.get("name", ""), targets.get(rid, "")))
    if named and all(archive.has(part) for _, part in named):
        return named
    return [
        (named[i][0] if i < len(named) and named[i][0] else str(i + 1), part)
        for i, part in enumerate(parts)
    ]


def _sheet_rows(data: bytes, strings: list[str]) -> list[str]:
    rows: list[str] = []
    cells: list[str] = []
    for element in iter_xml(data, frozenset({"c"})):
        name = local(element.tag)
        if name == "c":
            kind = element.get("t", "n")
            value = next((child for child in element if local(child.tag) == "v"), None)
            text = value.text if value is not None and value.text else ""
            if kind == "s" and text.isdigit() and int(text) < len(strings):
                text = strings[int(text)]
            elif kind == "inlineStr":
                text = "".join(element.itertext())
            if text.strip():
                cells.append(text.strip())
        elif name == "row":
            if cells:
                rows.append("\t".join(cells))
            cells = []
    return rows


def read_xlsx(path: Path) -> Document:
    doc = Document(meta={"format": "xlsx"})
    with SafeZip(path) as archive:
        strings = _shared_strings(archive)
        sheets = _sheets(archive)
        doc.meta["pages"] = len(sheets)
        for name, part in sheets[: max_pages()]:
            rows = _sheet_rows(archive.read(part), strings)
            if not doc.add("\n".join(rows), f"sheet {name}"):
                break
        _set_title(doc, _title(archive, "docProps/core.xml"))
    return doc


def read_odf(path: Path, kind: str) -> Document:
    """ODT by paragraphs and headings; ODP by slide (draw:page); ODS by sheet (table:table)."""
    doc = Document(meta={"format": kind})
    with SafeZip(path) as archive:
        if not archive.has("content.xml"):
            raise MediaError("OpenDocument without content.xml")
        data = archive.read("content.xml")
        unit = {"odp": ("page", "slide"), "ods": ("table", "sheet")}.get(kind)
        if unit is None:
            doc.add("\n".join(paragraphs(data, {"p", "h"})))
        else:
            _odf_parts(doc, data, *unit)
        _set_title(doc, _title(archive, "meta.xml"))
    return doc


def _odf_parts(doc: Document, data: bytes, part: str, label: str) -> None:
    count = 0
    lines: list[str] = []
    for element in iter_xml(data, frozenset({"p", "h"})):
        name = local(element.tag)
        if name in ("p", "h"):
            lines.append(text_of(element))
        elif name == part and element.tag.endswith(("}page", "}table")):
            count += 1
            named = next((v for k, v in element.attrib.items() if local(k) == "name"), "")
            title = f"{label} {named}" if label == "sheet" and named else f"{label} {count}"
            if count > max_pages() or not doc.add("\n".join(lines), title):
                break
            lines = []
    doc.meta["pages"] = count


def _set_title(doc: Document, title: str | None) -> None:
    if title:
        doc.meta["title"] = title
