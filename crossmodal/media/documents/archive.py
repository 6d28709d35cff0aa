"""Zip containers (OOXML, ODF, EPUB) read with caps, and their XML parsed as a pruned stream
without DTDs, entities or external references: a zip bomb, an XXE document or a deeply nested
part is a recorded failure, nothing more."""

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


def member_count(path: Path) -> int | None:
    """Entries a zip declares in its end-of-central-directory record (None: not found), read
    from its last 64 kB, so a huge archive is not listed just to learn it is no document."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - 65_557))
            tail = handle.read()
    except OSError:
        return None
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 12 > len(tail):
        return None
    return int.from_bytes(tail[at + 10 : at + 12], "little")


def _damaged(name: str, exc: BaseException) -> MediaError:
    # Decompressors raise OSError (bz2), zlib.error, lzma.LZMAError, EOFError for bad data;
    # none of them is an I/O problem worth retrying.
    return MediaError(f"damaged zip container ({name}): {type(exc).__name__}: {exc}")


class SafeZip:
    """A zip opened for reading with limits on members, inflated size and compression ratio."""

    def __init__(self, path: Path) -> None:
        try:
            self.archive = zipfile.ZipFile(path)
        except (FileNotFoundError, PermissionError, IsADirectoryError) as exc:
            raise MediaError(f"cannot read: {exc.strerror or exc}") from exc
        except Exception as exc:  # BadZipFile, NotImplementedError, OSError(EINVAL) on offsets
            raise MediaError(f"not a readable zip container: {exc}") from exc
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
        except MediaError:
            raise
        except Exception as exc:
            raise _damaged(name, exc) from exc
        return out.getvalue()


def iter_xml(data: bytes, keep: frozenset[str] = frozenset()) -> Iterator[Any]:
    """Each element of an XML part as it ends, in document order. Elements are dropped from the
    tree once the caller has seen them, unless they lie inside an element whose local name is in
    `keep` (whose whole subtree the caller reads at its end): memory stays flat however long
    the part. DTDs with entities and external references are refused."""
    import defusedxml
    from defusedxml.ElementTree import iterparse

    stack: list[Any] = []
    kept = 0
    try:
        for event, element in iterparse(io.BytesIO(data), events=("start", "end")):
            if event == "start":
                stack.append(element)
                kept += local(element.tag) in keep
                continue
            stack.pop()
            yield element
            kept -= local(element.tag) in keep
            if not kept and stack and len(stack[-1]) and stack[-1][-1] is element:
                del stack[-1][-1]
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
    for element in iter_xml(data, frozenset(para)):
        if local(element.tag) in para:
            yield text_of(element, skip)


def text_of(element: Any, skip: frozenset[str] = frozenset()) -> str:
    """An element's text, its tabs and breaks as spaces and newlines; iterative, so a part
    nested thousands deep costs no recursion."""
    parts: list[str] = []
    # (node, entering): entering adds the node's own text, leaving adds its tail.
    pending: list[tuple[Any, bool]] = [(element, True)]
    while pending:
        node, entering = pending.pop()
        if not entering:
            if node is not element and node.tail:
                parts.append(node.tail)
            continue
        name = local(node.tag)
        if name in skip:
            if node is not element and node.tail:
                parts.append(node.tail)
            continue
        if name in ("tab", "s"):
            parts.append(" ")
        elif name in ("br", "line-break", "cr"):
            parts.append("\n")
        if node.text:
            parts.append(node.text)
        pending.append((node, False))
        pending.extend((child, True) for child in reversed(node))
    return "".join(parts)
