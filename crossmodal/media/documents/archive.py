"""Zip containers (OOXML, ODF, EPUB) read with caps, and their XML parsed without DTDs, entities
or external references: a zip bomb or an XXE document is a recorded failure, nothing more."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ...errors import MediaError

MAX_MEMBERS = 10_000
MAX_MEMBER_BYTES = 64 * 1024 * 1024  # one inflated XML part
MAX_TOTAL_BYTES = 256 * 1024 * 1024  # everything inflated from one file
MAX_RATIO = 200  # inflated / compressed, for members over 1 MB inflated


class SafeZip:
    """A zip opened for reading with limits on members, inflated size and compression ratio."""

    def __init__(self, path: Path) -> None:
        try:
            self.archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, EOFError, ValueError) as exc:
            raise MediaError(f"not a readable zip container: {exc}") from exc
        except OSError as exc:
            raise MediaError(f"cannot read: {exc.strerror or exc}") from exc
        infos = self.archive.infolist()
        if len(infos) > MAX_MEMBERS:
            self.archive.close()
            raise MediaError(f"zip bomb guard: {len(infos)} members (at most {MAX_MEMBERS})")
        self.infos = {info.filename: info for info in infos}
        self.inflated = 0

    def __enter__(self) -> SafeZip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.archive.close()

    def names(self) -> list[str]:
        return list(self.infos)

    def has(self, name: str) -> bool:
        return name in self.infos

    def read(self, name: str, limit: int = MAX_MEMBER_BYTES) -> bytes:
        """One member's bytes, inflated in pieces so a bomb stops at the cap, not in memory."""
        info = self.infos.get(name)
        if info is None:
            raise MediaError(f"missing part {name}")
        if info.flag_bits & 0x1:
            raise MediaError("encrypted zip member: password needed")
        if info.file_size > 1 << 20 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise MediaError(f"zip bomb guard: {name} inflates {info.file_size:,} bytes")
        out = io.BytesIO()
        try:
            with self.archive.open(info) as member:
                while chunk := member.read(1 << 20):
                    out.write(chunk)
                    self.inflated += len(chunk)
                    if out.tell() > limit or self.inflated > MAX_TOTAL_BYTES:
                        raise MediaError(f"zip bomb guard: {name} inflates past the size cap")
        except (zipfile.BadZipFile, EOFError, ValueError, OSError) as exc:
            if isinstance(exc, OSError) and not isinstance(exc, zipfile.BadZipFile):
                raise MediaError(f"cannot read: {exc}") from exc
            raise MediaError(f"damaged zip member {name}: {exc}") from exc
        except RuntimeError as exc:  # encrypted member
            raise MediaError(f"zip member {name}: {exc}") from exc
        return out.getvalue()


def iter_xml(data: bytes, events: tuple[str, ...] = ("end",)) -> Iterator[tuple[str, Any]]:
    """Parse XML as a stream; DTDs with entities and external references are refused."""
    import defusedxml
    from defusedxml.ElementTree import iterparse

    try:
        yield from iterparse(io.BytesIO(data), events=events)
    except defusedxml.DefusedXmlException as exc:
        raise MediaError(
            "XML with entity declarations refused (entities are never expanded or fetched)"
        ) from exc
    except SyntaxError as exc:  # ParseError
        raise MediaError(f"malformed XML: {exc}") from exc


def local(tag: Any) -> str:
    """'{namespace}p' -> 'p'."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def paragraphs(data: bytes, para: set[str], skip: frozenset[str] = frozenset()) -> Iterator[str]:
    """The text of each paragraph element (local names in `para`), in document order, leaving
    out the text of elements named in `skip` (field codes, deleted text)."""
    for _, element in iter_xml(data):
        if local(element.tag) in para:
            yield _text_of(element, skip)
            element.clear()


def _text_of(element: Any, skip: frozenset[str]) -> str:
    parts: list[str] = []

    def walk(node: Any) -> None:
        name = local(node.tag)
        if name in skip:
            return
        if name in ("tab", "s"):
            parts.append(" ")
        elif name in ("br", "line-break", "cr"):
            parts.append("\n")
        if node.text:
            parts.append(node.text)
        for child in node:
            walk(child)
            if child.tail:
                parts.append(child.tail)

    walk(element)
    return "".join(parts)
