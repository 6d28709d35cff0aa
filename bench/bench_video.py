"""Video indexing against decoding every frame of the same file, measured in the same run.

Test videos are made at run time with the `ffmpeg` command line in a temp folder (deleted at the
end): testsrc2 pictures (moving colour bars, a clock, noise-free) and a 440 Hz sine, 60 s of H.264
(libx264, `--preset veryfast`: CABAC and 3 B-frames as a phone's High profile has, 2x quicker to
make than `fast`; the x264 default CRF 23 gives 1-6 Mbit/s, below a phone's ~16 Mbit/s at 1080p:
every-frame decoding grows with the bitrate, so the ratios below understate the gain) at 30 fps
with AAC sound, at 640x360, 1280x720 and 1920x1080 (x264's default keyframe interval, 250 frames
= 8.3 s, plus its scene-cut keyframes), and 1920x1080 with a phone's 1 s keyframe interval
(`-g 30`). A copy of each without its sound track (`-c copy -an`, the same video packets)
shows what the sound costs.

For each file:
  a. baseline: decode every frame with PyAV (`container.decode(stream)`, thread_type AUTO);
  b. `segments()`: keyframe-only scene detection with thumbnails;
  c. the real pipeline, end to end: `crossmodal.pipeline.update(store, [folder])` on a fresh store
     whose folder holds only that video (scan, hash, probe, scenes -> image encoder, sound ->
     audio encoder, speech -> Whisper tiny.en with VAD (the sine has no speech, so VAD leaves
     Whisper nothing to decode; real speech costs more), index, in-process. The models are loaded
     once beforehand by a warm-up update of a 2 s clip and a text file (its cold time is printed),
     so what is timed is the cost of the video itself, the cost a long-running or batch `update`
     pays per video: cleaner than subtracting a CLI run on an empty folder, whose start-up (10-20 s
     of imports and model loading) would dwarf and blur a 1-2 s difference. The time spent in the three encoder
     calls of the video job is split out by wrapping them (no library code is changed).
  a-c: median of --repeat runs. "video s / wall s" = seconds of video indexed per second of wall
  time; "x decode-all" = decode-every-frame time / the step's time (how many times cheaper);
  "others" = CPU seconds other processes used while a file was measured (from /proc/stat less
  this process and its children; about +-1.5 s of accounting noise): on a shared 2-core machine
  a row measured beside another job reads slow, and this column says which.

Peak memory: a fresh process per video loads the models with the same warm-up update, then
updates a store with one video: 640x360 10 fps H.264 files (`-preset ultrafast`, a keyframe every
10 s, AAC mono sound) of 1 minute (the baseline), 10 minutes (one speech window) and 1 hour. It
reports the kernel's high-water mark (VmHWM) after warm-up and after the video, and RSS sampled
every 0.1 s while the video is indexed (overall, and within each encoder call of the video job).

No-op update: a folder of N distinct 2 s 320x240 clips with sound (one testsrc2 encode cut by
ffmpeg's segment muxer: every clip shows other frames, so none is deduplicated by hash) is
updated once (timed: the baseline), then --repeat more times with `av.open` wrapped to count
calls: a no-op decodes nothing, so the count must be 0.

Usage: python bench/bench_video.py [--quick] [--repeat 3] [--clips 100] [--preset veryfast] [--keep]
(--quick: 15 s videos, no 1-hour video (1 and 10 minutes), 30 clips: about 2 minutes; the full
run about 6-8 minutes on 2 cores.)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_update import Stages, machine_line  # noqa: E402

# (label, width, height, extra x264 options)
VARIANTS = (
    ("360p", 640, 360, []),
    ("720p", 1280, 720, []),
    ("1080p", 1920, 1080, []),
    ("1080p g30", 1920, 1080, ["-g", "30"]),
)
FPS = 30
LONG_SIZE, LONG_FPS, LONG_GOP = (640, 360), 10, 100


# -- making the test videos ----------------------------------------------------------------
def ffmpeg(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *args], check=True)
    return time.perf_counter() - started


def make_video(
    path: Path,
    width: int,
    height: int,
    seconds: float,
    fps: int = FPS,
    preset: str = "veryfast",
    extra: list[str] | None = None,
    audio: list[str] | None = None,
) -> float:
    path.parent.mkdir(parents=True, exist_ok=True)
    sound = audio if audio is not None else ["-c:a", "aac", "-b:a", "128k"]
    return ffmpeg(
        ["-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={fps}"]
        + ["-f", "lavfi", "-i", "sine=f=440:sample_rate=48000"]
        + ["-t", f"{seconds:g}", "-c:v", "libx264", "-preset", preset, "-pix_fmt", "yuv420p"]
        + (extra or [])
        + sound
        + ["-movflags", "+faststart", str(path)]
    )


def without_sound(source: Path, target: Path) -> float:
    target.parent.mkdir(parents=True, exist_ok=True)
    return ffmpeg(["-i", str(source), "-map", "0:v", "-c", "copy", "-an", str(target)])


def make_clips(folder: Path, count: int, seconds: int = 2) -> float:
    """`count` distinct clips of `seconds` each, cut from one encode at forced keyframes."""
    folder.mkdir(parents=True, exist_ok=True)
    total = count * seconds
    return ffmpeg(
        ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=15"]
        + ["-f", "lavfi", "-i", "sine=f=330:sample_rate=22050"]
        + ["-t", str(total), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
        + ["-force_key_frames", f"expr:gte(t,n_forced*{seconds})"]
        + ["-c:a", "aac", "-ac", "1", "-b:a", "32k"]
        + ["-f", "segment", "-segment_time", str(seconds), "-reset_timestamps", "1"]
        + [str(folder / "clip%04d.mp4")]
    )


def video_facts(path: Path) -> dict[str, Any]:
    """Frames, keyframes (from packets, nothing decoded), duration, bitrate."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = keyframes = 0
        for packet in container.demux(stream):
            if packet.size:
                frames += 1
                keyframes += bool(packet.is_keyframe)
        seconds = float(stream.duration * stream.time_base) if stream.duration else 0.0
    size = path.stat().st_size
    return {
        "frames": frames,
        "keyframes": keyframes,
        "seconds": seconds,
        "mb": size / 1e6,
        "mbit_s": size * 8 / 1e6 / seconds if seconds else 0.0,
    }


# -- the measurements ----------------------------------------------------------------------
def others_cpu() -> float:
    """CPU seconds used on this machine by processes other than this one and its children so
    far (busy time in /proc/stat less our own): what another job's load took from the timings."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    ticks = [int(value) for value in fields]
    busy = (sum(ticks[:8]) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # less idle, iowait
    own = os.times()
    return busy - (own.user + own.system + own.children_user + own.children_system)


def decode_all(path: Path) -> int:
    """The baseline: every frame of the picture track, as a player decodes it."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        return sum(1 for _ in container.decode(stream))


def run_segments(path: Path) -> int:
    from crossmodal.media.video import segments

    return sum(1 for _ in segments(path))


def median_time(step: Callable[[], Any], repeat: int) -> tuple[float, list[float], Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = step()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times, result


class Split:
    """Wraps the video job's encoder calls (module attributes of crossmodal.pipeline.video) to
    add up the seconds each takes."""

    NAMES = ("encode_scenes", "encode_sound", "timed_speech", "encode_words")

    def __init__(self) -> None:
        import crossmodal.pipeline.video as job

        self.module = job
        self.seconds = dict.fromkeys(self.NAMES, 0.0)
        self.spans: list[tuple[str, float, float]] = []  # (name, start, end) of every call
        self.originals = {name: getattr(job, name) for name in self.NAMES}
        for name, original in self.originals.items():
            setattr(job, name, self._timed(name, original))

    def _timed(self, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                end = time.perf_counter()
                self.seconds[name] += end - started
                self.spans.append((name, started, end))

        return timed

    def reset(self) -> dict[str, float]:
        taken, self.seconds = self.seconds, dict.fromkeys(self.NAMES, 0.0)
        return taken

    def restore(self) -> None:
        for name, original in self.originals.items():
            setattr(self.module, name, original)


def fresh_update(store_dir: Path, root: Path) -> tuple[float, Any, dict[str, float]]:
    """One update of `root` into a new store at `store_dir` (removed first)."""
    from crossmodal.pipeline import update
    from crossmodal.store import Store

    shutil.rmtree(store_dir, ignore_errors=True)
    store = Store.open_or_create(store_dir)
    stages = Stages()
    summary = update(store, [root], progress=stages)
    end = time.perf_counter()
    return end - stages.start, summary, stages.split(end)


def counts(summary: Any) -> str:
    embedded = summary.embed.embedded
    spaces = ", ".join(f"{name} {n}" for name, n in sorted(embedded.items())) or "-"
    return (
        f"added {summary.ingest.added}, unchanged {summary.ingest.unchanged}, "
        f"failed {summary.failed}, embedded {sum(embedded.values())} "
        f"({spaces})"
    )


@contextlib.contextmanager
def counting_av_open() -> Iterator[list[str]]:
    """Every `av.open` call in the block (the library's only way into FFmpeg) lands in the list."""
    import av

    original = av.open
    calls: list[str] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(str(args[0]) if args else "?")
        return original(*args, **kwargs)

    av.open = counted
    try:
        yield calls
    finally:
        av.open = original


# -- peak memory, in a fresh process -------------------------------------------------------
def _rss_mb(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(warm_root: str, video_root: str, work: str) -> None:
    """Warm-up update, then one video's update; prints a JSON line of figures."""
    from crossmodal.pipeline import update
    from crossmodal.store import Store

    started = time.perf_counter()
    update(Store.open_or_create(Path(work) / "warm-store"), [Path(warm_root)])
    warm_seconds = time.perf_counter() - started
    after_warm = _rss_mb("VmHWM")
    floor = _rss_mb()
    samples: list[tuple[float, float]] = []  # (perf_counter, RSS MB)
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            samples.append((time.perf_counter(), _rss_mb()))

    split = Split()

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    summary = update(Store.open_or_create(Path(work) / "video-store"), [Path(video_root)])
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    split.restore()
    steps: dict[str, float] = {}  # the sampled peak RSS while each encoder call ran
    for name, start, end in split.spans:
        inside = [rss for when, rss in samples if start <= when <= end]
        if inside:
            steps[name] = max(steps.get(name, 0.0), *inside)
    from crossmodal.catalog import Catalog

    store = Store.open(Path(work) / "video-store")
    catalog = Catalog(store.catalog_path)
    try:
        scenes = [item.meta.get("scenes") for item in catalog.items(status="ok")]
    finally:
        catalog.close()
    print(
        json.dumps(
            {
                "warm_seconds": warm_seconds,
                "hwm_after_warm_mb": after_warm,
                "rss_before_video_mb": floor,
                "video_sampled_peak_mb": max((rss for _, rss in samples), default=floor),
                "step_peaks_mb": steps,
                "step_seconds": split.seconds,
                "hwm_after_video_mb": _rss_mb("VmHWM"),
                "seconds": seconds,
                "scenes": scenes,
                "failed": summary.failed,
                "embedded": sum(summary.embed.embedded.values()),
            }
        )
    )


def measure_memory(warm_root: Path, video_root: Path, work: Path) -> dict[str, Any]:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    output = subprocess.run(
        [sys.executable, __file__, "--child", str(warm_root), str(video_root), str(work)],
        capture_output=True,
        text=True,
        check=False,
        cwd=work,
    )
    if output.returncode:
        raise SystemExit(f"child failed:\n{output.stderr[-3000:]}")
    return json.loads(output.stdout.strip().splitlines()[-1])


# -- the run -------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter videos, fewer clips")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement, median")
    parser.add_argument("--clips", type=int, default=None, help="clips for the no-op (100)")
    parser.add_argument("--preset", default="veryfast", help="x264 preset of the test videos")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return

    seconds = 15.0 if args.quick else 60.0
    long_minutes = [1.0, 10.0] if args.quick else [1.0, 10.0, 60.0]
    clips = args.clips or (30 if args.quick else 100)
    repeat = max(1, args.repeat)
    overall = time.perf_counter()
    print(machine_line())
    print("load average at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(
        f"mode {'quick' if args.quick else 'full'}: {seconds:g} s videos, long videos "
        f"{long_minutes} min, {clips} clips, repeat {repeat}, x264 preset {args.preset}"
    )
    others = others_cpu()
    work = Path(tempfile.mkdtemp(prefix="crossmodal-bench-video-"))
    try:
        run(work, seconds, long_minutes, clips, repeat, args.preset)
    finally:
        if args.keep:
            print(f"\nkept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(
        f"\nwhole run: {time.perf_counter() - overall:.0f} s; other processes used "
        f"{others_cpu() - others:.0f} CPU s; load average at the end: "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )


def run(
    work: Path, seconds: float, long_minutes: list[float], clips: int, repeat: int, preset: str
) -> None:
    videos = work / "videos"
    print("\nmaking the test videos (ffmpeg):")
    files: list[tuple[str, Path, bool]] = []  # label, file, has sound
    for label, width, height, extra in VARIANTS:
        slug = label.replace(" ", "-")
        path = videos / slug / f"{slug}.mp4"
        took = make_video(path, width, height, seconds, preset=preset, extra=extra)
        quiet = videos / f"{slug}-silent" / f"{slug}-silent.mp4"
        took += without_sound(path, quiet)
        files += [(label, path, True), (f"{label} no sound", quiet, False)]
        print(f"   {label}: {took:.1f} s")
    warm = work / "warm"
    make_video(warm / "warm.mp4", 320, 240, 2, preset="ultrafast")
    (warm / "note.txt").write_text("A short note about a red boat on a quiet river.\n")
    long_args = dict(
        fps=LONG_FPS,
        preset="ultrafast",
        extra=["-g", str(LONG_GOP)],
        audio=["-c:a", "aac", "-ac", "1", "-ar", "22050", "-b:a", "48k"],
    )
    took = 0.0
    for minutes in long_minutes:
        folder = work / f"long-{minutes:g}min"
        took += make_video(folder / "video.mp4", *LONG_SIZE, minutes * 60, **long_args)
    print(
        f"   {', '.join(f'{m:g}' for m in long_minutes)} min at {LONG_SIZE[0]}x{LONG_SIZE[1]} "
        f"{LONG_FPS} fps: {took:.1f} s"
    )
    took = make_clips(work / "clips", clips)
    made = sorted((work / "clips").glob("*.mp4"))
    for extra_clip in made[clips:]:  # a last, shorter piece
        extra_clip.unlink()
    print(f"   {min(clips, len(made))} clips of 2 s: {took:.1f} s")

    # -- warm-up: models load once ---------------------------------------------------------
    store_dir = work / "store"
    cold, cold_summary, _ = fresh_update(store_dir, warm)
    print(f"\nwarm-up update (2 s clip + a note; imports and every model load): {cold:.1f} s")
    print(f"   {counts(cold_summary)}")
    again, _, _ = fresh_update(store_dir, warm)
    print(f"   the same on another fresh store, models loaded: {again:.2f} s")

    # -- per file: decode-all, segments, update --------------------------------------------
    split = Split()
    rows: list[dict[str, Any]] = []
    decoded: dict[str, float] = {}
    try:
        for label, path, sound in files:
            others, block = others_cpu(), time.perf_counter()
            facts = video_facts(path)
            base = label.replace(" no sound", "")
            if sound:
                all_s, all_times, frames = median_time(lambda p=path: decode_all(p), repeat)
                decoded[base] = all_s
                seg_s, seg_times, scenes = median_time(lambda p=path: run_segments(p), repeat)
            else:  # the same video packets: decode-all and segments as with sound
                all_s, all_times, frames = decoded[base], [], facts["frames"]
                seg_s, seg_times, scenes = rows[-1]["segments"], [], rows[-1]["scenes"]
            runs = []
            for _ in range(repeat):
                split.reset()
                took, summary, spans = fresh_update(store_dir, path.parent)
                runs.append((took, summary, spans, split.reset()))
            runs.sort(key=lambda r: r[0])
            took, summary, spans, parts = runs[len(runs) // 2]
            row = {
                "label": label,
                **facts,
                "decode_all": all_s,
                "segments": seg_s,
                "scenes": scenes,
                "update": took,
                "parts": parts,
                "spans": spans,
                "others": others_cpu() - others,
                "block": time.perf_counter() - block,
            }
            rows.append(row)
            print(f"\n{label}: {path.name}, {facts['mb']:.1f} MB, {facts['mbit_s']:.2f} Mbit/s")
            print(
                f"   {facts['frames']} frames, {facts['keyframes']} keyframes, "
                f"{facts['seconds']:.1f} s; decoded {frames} frames"
            )
            if all_times:
                print(f"   decode every frame: {all_s:.3f} s of {[round(t, 3) for t in all_times]}")
                print(
                    f"   segments(): {seg_s:.3f} s of {[round(t, 3) for t in seg_times]}, "
                    f"{scenes} scenes"
                )
            print(f"   update: {took:.3f} s of {[round(r[0], 3) for r in runs]}; {counts(summary)}")
            print(
                "   stages s: "
                + ", ".join(f"{k} {v:.3f}" for k, v in spans.items())
                + "; in the video job: "
                + ", ".join(f"{k} {v:.3f}" for k, v in parts.items())
            )
            print(
                f"   other processes used {row['others']:.1f} CPU s in these {row['block']:.1f} s"
            )
            if summary.failed:
                raise SystemExit(
                    f"the update failed: {summary.ingest.failures} {summary.embed.failures}"
                )
    finally:
        split.restore()

    # -- no-op update over N clips ---------------------------------------------------------
    others = others_cpu()
    clip_root = work / "clips"
    clip_store = work / "clip-store"
    with counting_av_open() as first_calls:
        first, first_summary, first_spans = fresh_update(clip_store, clip_root)
    print(f"\nfirst update of {clips} clips: {first:.2f} s; {counts(first_summary)}")
    print("   stages s: " + ", ".join(f"{k} {v:.3f}" for k, v in first_spans.items()))
    print(f"   av.open calls: {len(first_calls)} (the counter works)")
    from crossmodal.pipeline import update
    from crossmodal.store import Store

    noop_times, noop_calls, noop_summaries = [], 0, []
    for _ in range(repeat):
        with counting_av_open() as calls:
            started = time.perf_counter()
            summary = update(Store.open(clip_store), [clip_root])
            noop_times.append(time.perf_counter() - started)
        noop_calls += len(calls)
        noop_summaries.append(summary)
    noop = statistics.median(noop_times)
    noop_ok = noop_calls == 0 and all(
        sum(s.embed.embedded.values()) == 0 and s.ingest.unchanged == clips for s in noop_summaries
    )
    print(
        f"no-op update: median {noop:.3f} s of {[round(t, 3) for t in noop_times]}; "
        f"{counts(noop_summaries[0])}; av.open calls over {repeat} runs: {noop_calls}"
    )

    print(f"   other processes used {others_cpu() - others:.1f} CPU s during the clips' updates")

    # -- peak memory -----------------------------------------------------------------------
    memory = {}
    for minutes in long_minutes:
        name = f"long-{minutes:g}min"
        others = others_cpu()
        memory[minutes] = m = measure_memory(warm, work / name, work / f"mem-{name}")
        m["others"] = others_cpu() - others
        print(
            f"\npeak memory, {minutes:g} min video: warm-up {m['warm_seconds']:.1f} s, VmHWM after "
            f"warm-up {m['hwm_after_warm_mb']:.0f} MB, RSS before the video "
            f"{m['rss_before_video_mb']:.0f} MB, sampled peak during the video "
            f"{m['video_sampled_peak_mb']:.0f} MB, VmHWM after {m['hwm_after_video_mb']:.0f} MB; "
            f"update {m['seconds']:.1f} s, scenes {m['scenes']}, embedded {m['embedded']}, "
            f"failed {m['failed']}; other processes used {m['others']:.1f} CPU s"
        )
        print(
            "   peak RSS / seconds in each call: "
            + ", ".join(
                f"{k} {m['step_peaks_mb'].get(k, float('nan')):.0f} MB / {v:.1f} s"
                for k, v in m["step_seconds"].items()
            )
        )

    # -- the table ---------------------------------------------------------------------------
    print(
        f"\n{'file':<19} {'Mbit/s':>6} {'key':>4} {'all fr s':>8} {'segm s':>7} {'x all':>6} "
        f"{'index s':>8} {'scenes+img':>10} {'sound':>6} {'speech':>6} {'vid s/s':>8} {'x all':>6} "
        f"{'others':>6}"
    )
    for row in rows:
        parts = row["parts"]
        print(
            f"{row['label']:<19} {row['mbit_s']:>6.2f} {row['keyframes']:>4} "
            f"{row['decode_all']:>8.3f} {row['segments']:>7.3f} "
            f"{row['decode_all'] / row['segments']:>5.1f}x {row['update']:>8.3f} "
            f"{parts['encode_scenes']:>10.3f} {parts['encode_sound']:>6.3f} "
            f"{parts['timed_speech']:>6.3f} {row['seconds'] / row['update']:>8.1f} "
            f"{row['decode_all'] / row['update']:>5.2f}x {row['others']:>6.1f}"
        )
    print(
        f"\nno-op update of {clips} clips: {noop:.3f} s ({100 * noop / first:.2f} % of the first "
        f"update, {first:.2f} s); av.open calls {noop_calls}"
    )
    print(
        f"\n{'video (640x360 10 fps)':<24} {'index s':>8} {'vid s/s':>8} {'RSS before':>10} "
        f"{'peak during':>11} {'VmHWM':>6} {'peak / 1 min':>12}"
    )
    first_peak = memory[long_minutes[0]]["video_sampled_peak_mb"]
    for minutes, m in memory.items():
        print(
            f"{f'{minutes:g} min':<24} {m['seconds']:>8.1f} {minutes * 60 / m['seconds']:>8.1f} "
            f"{m['rss_before_video_mb']:>7.0f} MB {m['video_sampled_peak_mb']:>8.0f} MB "
            f"{m['hwm_after_video_mb']:>6.0f} {m['video_sampled_peak_mb'] / first_peak:>11.2f}x"
        )
    print(f"checks: no-op decoded nothing: {'ok' if noop_ok else 'FAILED'}")
    if not noop_ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
