"""Labelled photos, sounds and short texts from Debian's gcompris-qt-data 3.1-2.

The package ships Qt resource bundles (``usr/share/gcompris-qt/rcc/*.rcc``).
This module reads them with a small pure-Python .rcc reader, picks the
activities whose photographs/sounds carry an object name (file name or the
board's ``qsTr("title")``), and attaches the per-folder README licence lines.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import json
import re
import struct
import zlib
from pathlib import Path, PurePosixPath

try:  # optional: only needed for zstd-compressed entries (flag 0x04)
    import zstandard  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - depends on the environment
    zstandard = None

DEFAULT_LICENCE = "GPL-3+ (gcompris-qt-data)"
ACT = "gcompris/src/activities/"
# rcc stem -> patterns (relative to ACT) of wanted files; all checked by eye.
PHOTOS: dict[str, tuple[str, ...]] = {
    "categorization": ("categorization/resource/images/*/*.webp",),
    "erase": ("erase/resource/*.webp",),
    "explore_farm_animals": ("explore_farm_animals/resource/animals/*.webp",),
    "explore_monuments": ("explore_monuments/resource/*/*.webp",),
    "explore_world_animals": ("explore_world_animals/resource/animals/*.webp",),
    "explore_world_music": ("explore_world_music/resource/music/*.webp",),
    "leftright": ("leftright/resource/*.webp",),
    "solar_system": ("solar_system/resource/*.webp",),
}
SOUNDS: dict[str, tuple[str, ...]] = {
    "explore_farm_animals": ("explore_farm_animals/resource/animals/*.ogg",),
    "explore_world_music": ("explore_world_music/resource/music/*.ogg",),
    "instruments": ("instruments/resource/*.ogg",),
    "memory-sound": ("memory-sound/resource/LR*.ogg",),
}
SKIP_WORDS = ("weird", "la pause")  # memory-sound noises without a real label
FRENCH = {"main": "hand", "poing": "fist", "droite": "right", "droit": "right", "gauche": "left"}
MIN_SIDE = 96  # smaller rasters are sprites, not photos
README_KEYS = {"copyright", "license", "licence", "source", "comment", "comments", "files"}


class Rcc:
    """Minimal reader for Qt binary resource files (rcc format versions 1-3)."""

    def __init__(self, path: Path) -> None:
        self.buf = path.read_bytes()
        if self.buf[:4] != b"qres":
            raise ValueError(f"{path}: not a Qt resource file")
        self.version, self.tree, self.data, self.names = struct.unpack_from(">4I", self.buf, 4)
        self.esize = 14 if self.version == 1 else 22
        self.files: dict[str, tuple[int, int]] = {}  # path -> (flags, data offset)
        self._walk(0, "")

    def _name(self, node: int) -> str:
        off = self.names + struct.unpack_from(">I", self.buf, self.tree + node * self.esize)[0]
        (length,) = struct.unpack_from(">H", self.buf, off)
        return self.buf[off + 6 : off + 6 + 2 * length].decode("utf-16-be")

    def _walk(self, node: int, prefix: str) -> None:
        entry = self.tree + node * self.esize
        (flags,) = struct.unpack_from(">H", self.buf, entry + 4)
        if flags & 0x02:
            count, first = struct.unpack_from(">II", self.buf, entry + 6)
            for child in range(first, first + count):
                self._walk(child, prefix + ("/" if prefix else "") + self._name(child))
        else:
            self.files[prefix] = (flags, struct.unpack_from(">I", self.buf, entry + 10)[0])

    def read(self, path: str) -> bytes | None:
        """Return the uncompressed bytes of ``path`` (None for zstd without the module)."""
        flags, off = self.files[path]
        (size,) = struct.unpack_from(">I", self.buf, self.data + off)
        raw = self.buf[self.data + off + 4 : self.data + off + 4 + size]
        if flags & 0x01:  # qCompress: uint32 uncompressed size, then a zlib stream
            return zlib.decompress(raw[4:])
        if flags & 0x04:  # zstd frame; skipped (None) when the module is missing
            dec = zstandard.ZstdDecompressor() if zstandard else None
            return dec.decompress(raw, max_output_size=1 << 28) if dec else None
        return raw


def to_word(stem: str) -> str:
    """'measuringTape3' -> 'measuring tape', 'red_panda' -> 'red panda'."""
    s = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", stem)
    s = re.sub(r"[\s_\-]+", " ", s)
    return re.sub(r"[\s\d]+$", "", s).strip().lower()


def file_word(rel: str) -> str:
    """Object word from a file name, with the few activity-specific fixes."""
    stem = PurePosixPath(rel).stem
    if rel.startswith("memory-sound/"):
        stem = re.sub(r"^LR|_?LA(_?cut)?$", "", stem, flags=re.I)
    if rel.startswith("leftright/"):  # e.g. main_droite_paume_0 -> right hand
        parts = [FRENCH.get(p, "") for p in stem.split("_")[:2]]
        return f"{parts[1]} {parts[0]}"
    return to_word(stem)


def _js_string(s: str) -> str:
    try:
        return json.loads('"' + s.replace("\\'", "'") + '"')
    except ValueError:
        return s


def board_links(rcc: Rcc) -> dict[str, dict[str, str]]:
    """Map a qrc file path to the English title/text of the board object naming it."""
    links: dict[str, dict[str, str]] = {}
    field = re.compile(r'"(\w+)"\s*:\s*[^"\n]*?"((?:[^"\\]|\\.)*)"')
    for path in sorted(p for p in rcc.files if p.endswith((".qml", ".js"))):
        src = (rcc.read(path) or b"").decode("utf-8", "replace")
        spdx = re.search(r"SPDX-License-Identifier:\s*(\S+)", src)
        for n, obj in enumerate(re.findall(r"\{[^{}]*\}", src)):
            f = {k: _js_string(v) for k, v in field.findall(obj)}
            find = re.match(r"Find the (.+)$", f.get("text", ""))  # instruments.js
            title = f.get("title") or (find.group(1) if find else "")
            if not title:
                continue
            for key in ("image2", "audio"):
                target = f.get(key, "").replace("qrc:/", "").replace(".$CA", ".ogg")
                if target and target not in links:
                    links[target] = dict(title=title, qml=f"{path}#{n}",
                                         text=f.get("text", "") if f.get("title") else "",
                                         licence=spdx.group(1) if spdx else "")  # fmt: skip
    return links


def _parse_readme(text: str) -> tuple[list[tuple[list[str], dict[str, str]]], list[str]]:
    """Split a README into (file patterns, fields) stanzas and free-text lines."""
    stanzas, free = [], []
    for para in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = ""
        for line in para.splitlines():
            m = re.match(r"^(\w+):\s*(.*)$", line)
            if m and m.group(1).lower() in README_KEYS:
                key = m.group(1).lower().replace("licence", "license").rstrip("s")
                fields[key] = (fields.get(key, "") + " " + m.group(2)).strip()
            elif key:
                fields[key] = (fields[key] + " " + line.strip()).strip()
            elif line.strip():
                free.append(line.strip())
        if fields.get("file"):
            tokens = re.split(r"[\s,]+", fields["file"])
            pats = [t.rstrip(":") for t in tokens if t and "://" not in t]
            stanzas.append((pats, fields))
    return stanzas, free


def licence_for(rcc: Rcc, path: str) -> tuple[str, str]:
    """(licence text, source URL) for ``path`` from the nearest README/licence file."""
    parts = PurePosixPath(path).parts
    for depth in range(len(parts) - 1, 3, -1):
        folder = "/".join(parts[:depth])
        rel = "/".join(parts[depth:])
        for cand in sorted(p for p in rcc.files if PurePosixPath(p).parent.as_posix() == folder):
            name = PurePosixPath(cand).name.lower()
            if name.startswith(("licence", "license", "copying")):
                first = (rcc.read(cand) or b"").decode("utf-8", "replace").strip().splitlines()[0]
                return f"{first} (see {cand})", ""
            if not name.startswith("readme"):
                continue
            stanzas, free = _parse_readme((rcc.read(cand) or b"").decode("utf-8", "replace"))
            for pats, f in stanzas:
                if any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(parts[-1], p) for p in pats):
                    by = "by " + f["copyright"] if f.get("copyright") else ""
                    bits = [f.get("license", "?"), by, f.get("source", ""), f.get("comment", "")]
                    return "; ".join(b for b in bits if b), f.get("source", "")
            mine = [ln for ln in free if parts[-1] in ln]
            rest = [ln for ln in free if not re.search(r"\w\.\w{3,4}:", ln)]
            if mine or rest:
                return " ".join(mine or rest), ""
    return DEFAULT_LICENCE, ""


def _photo_ok(data: bytes) -> tuple[int, int] | None:
    from PIL import Image  # Pillow: only to check that the raster decodes

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            return im.size if min(im.size) >= MIN_SIDE else None
    except Exception:  # noqa: BLE001 - any decoder failure means "not usable"
        return None


def gcompris_entries(rcc_dir: Path, workdir: Path) -> list[dict]:
    """Extract the labelled photos/sounds into ``workdir`` and describe them (sorted)."""
    found: list[dict] = []
    texts: dict[tuple[str, str], dict] = {}
    for stem in sorted(set(PHOTOS) | set(SOUNDS)):
        rcc_path = rcc_dir / f"{stem}.rcc"
        if not rcc_path.exists():
            continue
        rcc = Rcc(rcc_path)
        links = board_links(rcc)
        wanted = [("image", p) for p in PHOTOS.get(stem, ())]
        wanted += [("audio", p) for p in SOUNDS.get(stem, ())]
        for path in sorted(rcc.files):
            kind = next((k for k, pat in wanted if fnmatch.fnmatch(path, ACT + pat)), None)
            data = rcc.read(path) if kind else None
            if data is None or (kind == "image" and not _photo_ok(data)):
                continue
            rel = path[len(ACT) :]
            link = links.get(path, {})
            word = link["title"].lower() if link.get("title") else file_word(rel)
            if kind == "audio" and word.startswith(SKIP_WORDS):
                continue
            folders = [d for d in PurePosixPath(rel).parts[2:-1] if d != "images"]
            out = workdir / rel
            if not out.exists() or out.stat().st_size != len(data):
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(data)
            licence, source = licence_for(rcc, path)
            style = "photo" if kind == "image" else "sound"
            entry = dict(kind=kind, path=out, original=f"{stem}.rcc:{path}", style=style,
                         word=word, category=folders[-1] if folders else None,
                         activity=rel.split("/")[0], licence=licence, source=source or None,
                         sha256=hashlib.sha256(data).hexdigest())  # fmt: skip
            if link.get("text"):
                entry["caption"] = link["text"]
                key = (stem, link["qml"])
                if key not in texts or kind == "image":  # tie a text to its photo first
                    texts[key] = {**entry, "kind": "text", "path": None, "style": "document",
                                  "original": f"{stem}.rcc:{link['qml']}", "text": link["text"],
                                  "about": entry["original"],
                                  "licence": link["licence"] or DEFAULT_LICENCE}  # fmt: skip
                    for k in ("caption", "source", "sha256"):
                        texts[key].pop(k)
            found.append(entry)
    # Same bytes or same upstream photo in two activities: keep one, preferring a captioned copy.
    seen: set[str] = set()
    result: list[dict] = []
    for e in sorted(found, key=lambda e: ("caption" not in e, e["original"])):
        keys = {e["sha256"], e["source"] or ""} - {""}
        if not keys & seen:
            seen |= keys
            result.append(e)
    kept = {e["original"] for e in result}
    result += [t for t in texts.values() if t["about"] in kept]
    return sorted(result, key=lambda e: (e["kind"], e["original"]))


if __name__ == "__main__":
    import collections
    import time

    base = Path("/work/evalcache/x/gcompris-qt-data_3.1-2_all/usr/share/gcompris-qt/rcc")
    t0 = time.perf_counter()
    entries = gcompris_entries(base, Path("/tmp/gcompris-work"))
    print(f"{len(entries)} entries in {time.perf_counter() - t0:.2f}s")
    counts = collections.Counter((e["kind"], e["activity"], e["category"]) for e in entries)
    for (kind, act, cat), n in sorted(counts.items(), key=str):
        print(f"{n:4d}  {kind:5s}  {act:22s} {cat}")
    for e in entries[:: max(1, len(entries) // 15)][:15]:
        print({k: (v[:70] if isinstance(v, str) else v) for k, v in e.items() if k != "sha256"})
