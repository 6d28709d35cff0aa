"""What each stage reports: the CLI renders these, scripts read them as JSON."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from ..spaces.backend import IndexReport

# progress(stage, done, total): total is None while unknown (scanning).
Progress = Callable[[str, int, "int | None"], None]


def no_progress(stage: str, done: int, total: int | None) -> None:
    return None


@dataclass
class IngestSummary:
    scanned: int = 0
    added: int = 0
    changed: int = 0
    moved: int = 0
    duplicates: int = 0
    deleted: int = 0
    unchanged: int = 0
    failed: int = 0
    unsupported: int = 0
    vanished: int = 0  # listed by the scan, gone before they could be read
    kept: int = 0  # not seen because their folder could not be read: left as they were
    roots: list[str] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)

    def fail(self, path: str, reason: str) -> None:
        from ..catalog import catalog_path

        self.failed += 1
        self.failures.append((catalog_path(path)[0], reason))


@dataclass
class EmbedSummary:
    embedded: dict[str, int] = field(default_factory=dict)
    reused: int = 0
    failed: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    transcribed: int = 0  # clips in which speech was found and written down
    read: int = 0  # pictures in which text was found and read (--ocr)


@dataclass
class UpdateSummary:
    ingest: IngestSummary
    embed: EmbedSummary
    index: list[IndexReport]
    purged_items: int = 0
    purged_vectors: int = 0
    seconds: float = 0.0

    @property
    def failed(self) -> int:
        return self.ingest.failed + self.embed.failed

    @property
    def exit_code(self) -> int:
        """0 when every file was handled, 3 (partial) when some files failed this run."""
        return 3 if self.failed else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": "partial" if self.failed else "ok",
            "exit_code": self.exit_code,
            "failed": self.failed,
            "seconds": round(self.seconds, 3),
            "ingest": asdict(self.ingest),
            "embed": asdict(self.embed),
            "index": [asdict(report) for report in self.index],
            "purged": {"items": self.purged_items, "vectors": self.purged_vectors},
        }
