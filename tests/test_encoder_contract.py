"""The encoder contract: every loaded set has the whole EncoderSet interface (plain plug-ins
are wrapped once, where they are loaded), capabilities are found through `transcriber`,
`reader` and `documents`, a composite takes words from its first member able to read them, and
a store's recorded fingerprint reaches a set through `pin_fingerprint`, never a private write."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from crossmodal.encoders import (
    DocumentEncoder,
    EncoderSet,
    SpaceSpec,
    TextReader,
    Transcriber,
    as_encoder_set,
    available_encoder_sets,
    l2_normalize,
    register_encoder_set,
    unregister_encoder_set,
)
from crossmodal.encoders.base import DEFAULT_AUDIO_SAMPLE_RATE
from crossmodal.encoders.composite import CompositeEncoderSet
from crossmodal.encoders.plugin import PluginEncoderSet
from crossmodal.encoders.registry import create_encoder_set, forget_encoder_set

from .conftest import FakeEncoderSet, RegisterFake


class Plain:
    """The least a plug-in may be: name, spaces, encode, and nothing of the base class."""

    def __init__(self, name: str = "plain", space: str = "plain-text") -> None:
        self.name = name
        self.spaces = {space: SpaceSpec(space, 4, frozenset({"text"}))}
        self.own = "reachable"

    def encode(self, modality: str, inputs: list[Any]) -> dict[str, np.ndarray]:
        rows = np.ones((len(inputs), 4), dtype=np.float32)
        return {next(iter(self.spaces)): l2_normalize(rows)}


class Speaking(Plain):
    """A plain plug-in that transcribes and encodes documents, with its own batch size."""

    transcriber_id = "speaking-asr/1"
    batch_size = 7
    audio_sample_rate = 16000

    def transcribe(self, waves: list[np.ndarray]) -> list[str]:
        return ["words"] * len(waves)

    def encode_documents(self, texts: list[str]) -> Any:
        space = next(iter(self.spaces))
        return self.encode("text", texts), [[] for _ in texts], {space: []}


class Mute(Speaking):
    """Has the methods, but its weights are not here: transcriber_id is None."""

    transcriber_id = None  # type: ignore[assignment]


class Reading(Plain):
    def __init__(self, name: str, space: str, reader_id: str | None) -> None:
        super().__init__(name, space)
        self.reader_id = reader_id

    def read_text(self, images: list[Any]) -> list[str]:
        return [f"read by {self.name}"] * len(images)


class Pinned(Plain):
    """A plug-in that wants the store's recorded fingerprint (to check its weights on load)."""

    def __init__(self) -> None:
        super().__init__("pinned", "pinned-text")
        self.pinned: list[str] = []
        self.cache_dir: Path | None = None

    def pin_fingerprint(self, fingerprint: str) -> None:
        self.pinned.append(fingerprint)


def test_a_plain_plugin_is_wrapped_with_the_whole_interface(register_fake: RegisterFake) -> None:
    register_fake("contract-plain", lambda: Plain("contract-plain"))
    encoder = create_encoder_set("contract-plain")
    assert isinstance(encoder, PluginEncoderSet) and isinstance(encoder, EncoderSet)
    assert encoder.transcriber is None and encoder.reader is None and encoder.documents is None
    assert encoder.members == [encoder]
    assert encoder.batch_size is None and encoder.fingerprint == "contract-plain"
    assert encoder.audio_sample_rate == DEFAULT_AUDIO_SAMPLE_RATE
    assert encoder.transcriber_id is None and encoder.reader_id is None
    assert encoder.checkpoint is None and encoder.config_file is None
    assert encoder.weights_path() is None and encoder.weights_present() == (True, "")
    assert encoder.current_fingerprint() is None  # no fingerprint of its own: nothing tracked
    encoder.load()
    # What pipeline and query probe until they switch to the properties: still the plug-in's.
    assert not hasattr(encoder, "encode_documents") and not hasattr(encoder, "transcribe")
    assert getattr(encoder, "transcriber_id", None) is None
    assert encoder.own == "reachable"  # its own attributes read through
    assert encoder.encode("text", ["a", "b"])["plain-text"].shape == (2, 4)
    assert create_encoder_set("contract-plain") is encoder  # wrapped once, then reused


def test_a_plugin_that_transcribes_is_a_transcriber(register_fake: RegisterFake) -> None:
    register_fake("contract-speaking", lambda: Speaking("contract-speaking", "speaking-text"))
    encoder = create_encoder_set("contract-speaking")
    transcriber = encoder.transcriber
    assert isinstance(transcriber, Transcriber) and transcriber.transcriber_id == "speaking-asr/1"
    assert transcriber.transcribe([np.zeros(10)]) == ["words"]
    assert encoder.transcriber_id == "speaking-asr/1"
    assert isinstance(encoder.documents, DocumentEncoder) and hasattr(encoder, "encode_documents")
    assert encoder.batch_size == 7 and encoder.audio_sample_rate == 16000
    assert encoder.members == [encoder] and encoder.reader is None


def test_a_transcriber_whose_weights_are_missing_is_none(register_fake: RegisterFake) -> None:
    register_fake("contract-mute", lambda: Mute("contract-mute", "mute-text"))
    assert create_encoder_set("contract-mute").transcriber is None

    class NoSpeech(FakeEncoderSet):  # a subclass of the base, as builtin without whisper
        transcriber_id = None  # type: ignore[assignment]

    assert NoSpeech().transcriber is None and NoSpeech().reader is not None
    fake = FakeEncoderSet()
    assert fake.transcriber is fake and fake.documents is fake and fake.members == [fake]


def test_capabilities_are_found_once_per_instance() -> None:
    class Counting(Speaking):
        looked = 0

        @property
        def transcriber_id(self) -> str:  # type: ignore[override]
            Counting.looked += 1
            return "counting/1"

    encoder = as_encoder_set(Counting("counting", "counting-text"))
    first = encoder.transcriber
    looked = Counting.looked
    assert encoder.transcriber is first and Counting.looked == looked


def test_a_composite_reads_with_its_first_reader_and_documents_per_member() -> None:
    members = [
        Reading("a", "a-text", None),  # no OCR weights here
        Reading("b", "b-text", "b-ocr/1"),
        Reading("c", "c-text", "c-ocr/1"),
        Speaking("d", "d-text"),
    ]
    composite = CompositeEncoderSet(members)
    assert isinstance(composite.reader, TextReader) and composite.reader_id == "b-ocr/1"
    assert composite.reader is composite.members[1].reader
    assert composite.read_text([object()]) == ["read by b"]
    assert composite.transcriber is composite.members[3].transcriber
    assert composite.transcriber_id == "speaking-asr/1"
    assert composite.documents is None and not hasattr(composite, "encode_documents")
    assert [m.documents is not None for m in composite.members] == [False, False, False, True]
    assert all(isinstance(m, EncoderSet) for m in composite.members)
    assert composite.fingerprint == "a+b+c+d" and composite.batch_size is None
    assert CompositeEncoderSet([members[0]]).reader is None


def test_every_loaded_set_has_the_interface(register_fake: RegisterFake) -> None:
    register_fake("contract-plain", lambda: Plain("contract-plain"))
    loaded = [create_encoder_set(name) for name in ("builtin", "fake", "contract-plain")]
    loaded.append(CompositeEncoderSet(loaded[1:]))
    for encoder in loaded:
        assert isinstance(encoder, EncoderSet), encoder
        assert encoder.members and isinstance(encoder.fingerprint, str)
        assert encoder.batch_size is None or encoder.batch_size > 0
        for capability in (encoder.transcriber, encoder.reader, encoder.documents):
            assert (
                capability is None
                or capability in [*encoder.members, encoder]
                or any(capability is getattr(m, "plugin", None) for m in encoder.members)
            )
        assert hasattr(encoder, "encode_documents") == (encoder.documents is not None)
    builtin = loaded[0]
    assert builtin.documents is builtin and builtin.members == [builtin]


def test_the_recorded_fingerprint_is_pinned_through_the_public_method(
    register_fake: RegisterFake, tmp_path: Path
) -> None:
    plugin = Pinned()
    register_fake("pinned", lambda: plugin)
    encoder = create_encoder_set("pinned", record={"name": "pinned", "fingerprint": "abc"})
    assert plugin.pinned == ["abc"]
    create_encoder_set("pinned", cache_dir=tmp_path)
    assert plugin.cache_dir == tmp_path and encoder.cache_dir == tmp_path
    create_encoder_set("pinned", cache_dir=tmp_path / "other")
    assert plugin.cache_dir == tmp_path  # a set keeps the cache folder it has

    name = f"st:{tmp_path / 'no-model-here'}"  # nothing on disk is read to build or pin it
    try:
        first = create_encoder_set(name)
        create_encoder_set(name, record={"name": name, "fingerprint": "0123456789abcdef"})
        assert first.fingerprint == f"{name}/0123456789abcdef"
        first.pin_fingerprint("ffffffffffffffff")  # a recorded fingerprint is never replaced
        assert first.fingerprint == f"{name}/0123456789abcdef"
    finally:
        forget_encoder_set(name)


def test_register_returns_what_it_replaced_and_unregister_forgets() -> None:
    assert "contract-temporary" not in available_encoder_sets()
    assert register_encoder_set("contract-temporary", lambda: Plain("contract-temporary")) is None
    try:
        built = create_encoder_set("contract-temporary")
        previous = register_encoder_set("contract-temporary", lambda: Plain("contract-temporary"))
        assert previous is not None and create_encoder_set("contract-temporary") is not built
    finally:
        unregister_encoder_set("contract-temporary")
    assert "contract-temporary" not in available_encoder_sets()
    with pytest.raises(Exception, match="unknown model 'contract-temporary'"):
        create_encoder_set("contract-temporary")


def test_register_fake_replaces_a_set_for_one_test(register_fake: RegisterFake) -> None:
    register_fake("fake", lambda: Plain("fake", "fake-semantic"))
    register_fake("contract-leak", lambda: Plain("contract-leak"))
    assert isinstance(create_encoder_set("fake"), PluginEncoderSet)


def test_register_fake_left_nothing_behind() -> None:
    """Runs after the test above: its sets are gone and the session's fake set is back."""
    assert "contract-leak" not in available_encoder_sets()
    assert type(create_encoder_set("fake")) is FakeEncoderSet


class Tracking(Plain):
    """A set registered by name that tracks its weights file itself."""

    def current_fingerprint(self) -> str:
        return "weights-abc"


class Declaring(Plain):
    """A plug-in that declares a fingerprint but tracks no file."""

    fingerprint = "declared-1"


def test_what_a_store_records_as_a_sets_fingerprint(register_fake: RegisterFake) -> None:
    """Tracked weights are recorded even for a set registered by name (changed weights must be
    noticed); a declared fingerprint only for sets the store does not know by name; builtin's
    and a plain in-process set's never."""
    from crossmodal.models import _current_fingerprint

    register_fake("tracking", lambda: Tracking("tracking"))
    register_fake("declaring", lambda: Declaring("declaring"))
    assert _current_fingerprint(create_encoder_set("tracking")) == "weights-abc"
    registered = create_encoder_set("declaring")
    assert registered.declared_fingerprint() == "declared-1"
    assert _current_fingerprint(registered) is None  # known by name: not tracked
    unknown = as_encoder_set(Declaring("elsewhere"))  # as an entry-point plug-in is named
    assert _current_fingerprint(unknown) == "declared-1"
    assert _current_fingerprint(as_encoder_set(Plain("elsewhere"))) is None
    assert _current_fingerprint(create_encoder_set("builtin")) is None
