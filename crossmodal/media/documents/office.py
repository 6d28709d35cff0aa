"""Office documents: OOXML (DOCX, PPTX, XLSX) and ODF (ODT, ODP, ODS), read from the XML inside
their zip with caps and without entity expansion. Slides and sheets label their passages."""

from __future__ import annotations

import re
from pathlib import Path

from ...errors import MediaError
from .archive import SafeZip, iter_xml, local, paragraphs
from .base import Document, max_pages

_SKIP_OOXML = frozenset({"instrText", "delText", "fldChar"})


def _number(name: str) -> int:
    found = re.search(r"(\d+)\.xml$", name)
    return int(found.group(1)) if found else 0


def _title(archive: SafeZip, part: str) -> str | None:
    if not archive.has(part):
        return None
    for _, element in iter_xml(archive.read(part, 1 << 20)):
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


def _sheet_names(archive: SafeZip) -> list[str]:
    if not archive.has("xl/workbook.xml"):
        return []
    return [
        element.get("name", "")
        for _, element in iter_xml(archive.read("xl/workbook.xml"))
        if local(element.tag) == "sheet"
    ]


def _sheet_rows(data: bytes, strings: list[str]) -> list[str]:
    rows: list[str] = []
    cells: list[str] = []
    for _, element in iter_xml(data):
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
            element.clear()
        elif name == "row":
            if cells:
                rows.append("\t".join(cells))
            cells = []
            element.clear()
    return rows


def read_xlsx(path: Path) -> Document:
    doc = Document(meta={"format": "xlsx"})
    with SafeZip(path) as archive:
        strings = _shared_strings(archive)
        names = _sheet_names(archive)
        sheets = sorted(
            (n for n in archive.names() if re.match(r"xl/worksheets/sheet\d+\.xml$", n)),
            key=_number,
        )
        doc.meta["pages"] = len(sheets)
        for index, part in enumerate(sheets[: max_pages()]):
            label = names[index] if index < len(names) and names[index] else f"{index + 1}"
            if not doc.add("\n".join(_sheet_rows(archive.read(part), strings)), f"sheet {label}"):
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
    from .archive import _text_of

    count = 0
    lines: list[str] = []
    for _, element in iter_xml(data):
        name = local(element.tag)
        if name in ("p", "h"):
            lines.append(_text_of(element, frozenset()))
            element.clear()
        elif name == part and element.tag.endswith(("}page", "}table")):
            count += 1
            named = next((v for k, v in element.attrib.items() if local(k) == "name"), "")
            title = f"{label} {named}" if label == "sheet" and named else f"{label} {count}"
            if count > max_pages() or not doc.add("\n".join(lines), title):
                break
            lines = []
            element.clear()
    doc.meta["pages"] = count


def _set_title(doc: Document, title: str | None) -> None:
    if title:
        doc.meta["title"] = title
