"""The real CLI with the fake encoder set, for tests that need a separate process (kill -9,
concurrent writers). FAKE_ENCODE_DELAY (seconds per input) stretches a run so that signals land
in every stage. Prints "ready" on stderr once imports are done."""

from __future__ import annotations

import os
import sys
import time

from crossmodal.encoders import register_encoder_set
from tests.conftest import FakeEncoderSet

DELAY = float(os.environ.get("FAKE_ENCODE_DELAY", "0"))


class SlowFakeEncoderSet(FakeEncoderSet):
    def encode(self, modality: str, inputs: list):  # type: ignore[no-untyped-def]
        time.sleep(DELAY * len(inputs))
        return super().encode(modality, inputs)


class SlowSecondEncoderSet:
    """A second model for a store (`update --model second`): one text+image space of its own,
    made by the fake set's semantic encoding."""

    name = "second"
    fingerprint = "second/1"
    audio_sample_rate = SlowFakeEncoderSet.audio_sample_rate

    def __init__(self) -> None:
        self._base = SlowFakeEncoderSet()
        spec = self._base.spaces["fake-semantic"]
        self.spaces = {
            "second-semantic": spec.__class__("second-semantic", spec.dim, spec.modalities)
        }

    def encode(self, modality: str, inputs: list):  # type: ignore[no-untyped-def]
        found = self._base.encode(modality, inputs)
        return {"second-semantic": found["fake-semantic"]} if "fake-semantic" in found else {}

    def encode_documents(self, texts: list[str]):  # type: ignore[no-untyped-def]
        documents, spans, vectors = self._base.encode_documents(texts)
        return (
            {"second-semantic": documents["fake-semantic"]},
            spans,
            {"second-semantic": vectors["fake-semantic"]},
        )


register_encoder_set("fake", SlowFakeEncoderSet)
register_encoder_set("second", SlowSecondEncoderSet)

if __name__ == "__main__":
    import hnswlib  # noqa: F401  (imports done before "ready": kills land in real work)
    import mutagen  # noqa: F401
    import PIL.Image
    import soundfile  # noqa: F401
    import soxr  # noqa: F401

    import crossmodal.check  # noqa: F401
    import crossmodal.pipeline  # noqa: F401
    import crossmodal.query  # noqa: F401
    from cli.main import run

    PIL.Image.init()
    print("ready", file=sys.stderr, flush=True)
    run()
