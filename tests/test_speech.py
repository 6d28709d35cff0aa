"""Speech transcripts (fake transcriber: a 440 Hz tone 'says' a sentence): stored per clip, added
to its text side, searched both ways, redone only when the content or the transcriber changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossmodal.catalog import Catalog
from crossmodal.media.audio import with_transcript
from crossmodal.pipeline import update
from crossmodal.query import build_query
from crossmodal.search import SearchEngine
from crossmodal.store import Store
from tests.conftest import FakeEncoderSet, write_text, write_tone

SPOKEN = FakeEncoderSet.SPOKEN


@pytest.mark.parametrize(
    ("side", "old", "new", "expected"),
    [
        (None, None, "hello there", "hello there"),
        ("dog bark", None, "woof woof", "dog bark. woof woof"),
        ("dog bark", None, "", "dog bark"),
        ("dog bark. woof woof", "woof woof", "meow", "dog bark. meow"),
        ("rec", None, "Hello.", "rec. Hello"),
        ("rec. Hello there", "Hello there.", "Hello there.", "rec. Hello there"),  # no doubling
        (None, None, "", None),
    ],
)
def test_text_side_takes_the_transcript(side, old, new, expected) -> None:  # type: ignore[no-untyped-def]
    assert with_transcript(side, old, new) == expected


@pytest.fixture
def memos(tmp_path: Path) -> Path:
    root = tmp_path / "media"
    write_tone(root / "rec_0001.wav", 440.0, seconds=1.0)  # "speech"
    write_tone(root / "rec_0002.wav", 1760.0, seconds=1.0)  # no speech
    write_text(root / "ferry.txt", "the harbour ferry timetable")
    write_text(root / "bread.txt", "how to bake bread at home")
    return root


def _transcripts(store: Store) -> dict[str, tuple[str | None, str | None]]:
    catalog = Catalog(store.catalog_path)
    try:
        return {
            Path(i.path).name: (i.meta.get("transcript"), i.text_side)
            for i in catalog.items(modality="audio")
        }
    finally:
        catalog.close()


def test_transcripts_are_stored_added_to_the_text_side_and_searchable(
    fake_store: Store, memos: Path
) -> None:
    encoder = FakeEncoderSet()
    summary = update(fake_store, [memos], encoder=encoder)
    assert summary.embed.transcribed == 1 and ("transcribe", 2) in encoder.calls
    found = _transcripts(fake_store)
    assert found["rec_0001.wav"] == (SPOKEN, f"rec. {SPOKEN}")
    assert found["rec_0002.wav"] == ("", "rec")  # no speech: the text side is left alone
    engine = SearchEngine(fake_store, encoder=encoder)
    hits = engine.search(build_query("harbour ferry", type="audio", k=2))
    assert Path(hits[0].item.path).name == "rec_0001.wav"
    # Speech -> text: the stored transcript is the query's text side (no transcription again).
    calls = len(encoder.calls)
    hits = engine.search(build_query(str(memos / "rec_0001.wav"), type="text", k=2))
    assert Path(hits[0].item.path).name == "ferry.txt"
    assert ("transcribe", 1) not in encoder.calls[calls:]
    # A clip that is not in the store is transcribed at query time.
    outside = write_tone(memos.parent / "elsewhere" / "new.wav", 440.0, seconds=1.0)
    hits = engine.search(build_query(str(outside), type="text", k=2))
    assert Path(hits[0].item.path).name == "ferry.txt" and ("transcribe", 1) in encoder.calls
    # A clip without speech stays in the audio space only.
    hits = engine.search(build_query(str(memos / "rec_0002.wav"), k=5))
    assert {hit.item.modality for hit in hits} == {"audio"}


def test_transcribed_once_and_again_only_when_content_or_model_changes(
    fake_store: Store, memos: Path
) -> None:
    update(fake_store, [memos], encoder=FakeEncoderSet())
    encoder = FakeEncoderSet()
    update(fake_store, [memos], encoder=encoder)
    assert encoder.calls == []  # nothing new: no model work at all
    write_tone(memos / "rec_0002.wav", 440.0, seconds=1.5)  # now it "speaks"
    update(fake_store, [memos], encoder=encoder)
    assert ("transcribe", 1) in encoder.calls
    assert _transcripts(fake_store)["rec_0002.wav"] == (SPOKEN, f"rec. {SPOKEN}")
    newer = FakeEncoderSet()
    newer.transcriber_id = "fake-asr/2"  # type: ignore[misc]
    update(fake_store, [memos], encoder=newer)
    assert ("transcribe", 2) in newer.calls
    assert _transcripts(fake_store)["rec_0001.wav"] == (SPOKEN, f"rec. {SPOKEN}")  # not doubled


def test_moved_copied_or_touched_clips_keep_their_transcript_without_a_new_pass(
    fake_store: Store, memos: Path
) -> None:
    update(fake_store, [memos], encoder=FakeEncoderSet())
    encoder = FakeEncoderSet()
    (memos / "rec_0001.wav").rename(memos / "harbour.wav")  # moved
    (memos / "copy.wav").write_bytes((memos / "harbour.wav").read_bytes())  # copied
    (memos / "rec_0002.wav").touch()  # touched: same bytes, new mtime
    update(fake_store, [memos], encoder=encoder)
    assert not any(kind == "transcribe" for kind, _ in encoder.calls), encoder.calls
    found = _transcripts(fake_store)
    assert found["harbour.wav"] == (SPOKEN, f"harbour. {SPOKEN}")
    assert found["copy.wav"] == (SPOKEN, f"copy. {SPOKEN}")


def test_a_speech_query_clip_is_transcribed_once(fake_store: Store, memos: Path) -> None:
    update(fake_store, [memos], encoder=FakeEncoderSet())
    outside = write_tone(memos.parent / "elsewhere" / "new.wav", 440.0, seconds=1.3)
    for _ in range(2):
        encoder = FakeEncoderSet()
        engine = SearchEngine(fake_store, encoder=encoder)
        hits = engine.search(build_query(str(outside), type="text", k=1))
        assert Path(hits[0].item.path).name == "ferry.txt"
        engine.close()
    assert encoder.calls == []  # the second process: from the store's query cache
