"""`crossmodal serve` on stores of 10k, 100k and 1M items: warm query latency over HTTP on
loopback against a cold `crossmodal search` process, and throughput, errors and the server's
memory under 8 concurrent clients, measured in one run.

Stores (built once with --build or --build-only, reused after; STORE_ROOT/N/{docs,store}):
bench_million.build_store, the 1M benchmark's own builder at each size: N real one-line text
files, catalog rows as `update` writes them, one 384-d `builtin-semantic` vector per item
inserted directly (bench_index.structured), the index built by the store's own update_space
(M=16, efC=200), and a `crossmodal update` checked to be a no-op. A size whose store is not built
is skipped (the 1M index takes ~15-25 min on 2 cores: build it last, under nice).

Per size, one server (`crossmodal serve --store S --port 0`, started as a child; its start-up is
timed to the "serving" line), one keep-alive http.client.HTTPConnection (TCP_NODELAY), requests
one after the other, each one round trip; the time is from sending the request to having read
the whole answer:
- the first text query after start (the text model loads) and the first picture (the image
  model loads), reported apart;
- text: --queries distinct short texts ("a wet dog and a bell by the river"), none of them in
  the store's query cache when the run began and none sent twice (so neither the cache nor an
  earlier run answers), after 20 untimed warm-up queries; then one text repeated --repeats
  times (the query cache answers);
- GET /openapi.json 50 times: the HTTP stack's own cost, no engine call;
- pictures: --pictures real files from sample_data/images, each with this run's stamp appended
  after its image data (the decoders ignore it; the content hash, the query cache's key,
  changes), uploaded as {"upload": {"data": BASE64, "name": ...}, "type": "text"}: its first
  upload (the picture is decoded and embedded) and --picture-repeats repeated uploads of the
  same bytes (the cache answers by content hash);
- under load (sizes in --load-sizes): --clients threads, each its own keep-alive connection,
  distinct texts for --load-seconds s: requests/s, errors, p50/p99, and the server's VmRSS,
  RssAnon, RssFile before and after and its VmHWM (from /proc/PID/status), sampled each second;
- then the server is stopped with SIGTERM (exit status and any traceback on stderr checked), and
  `crossmodal search TEXT --type text --store S --json` runs in --cold-repeat fresh processes,
  each a new text (one untimed run first warms the page cache): median, and its ratio to the
  server's warm p50;
- with --nodelay-probe, the latency figures again from a server whose listener is forced to
  IPPROTO_TCP from outside (NODELAY_SERVE). This found the ~40 ms Nagle wait that bind() had
  before it made its socket with IPPROTO_TCP itself (issue 22); the two now agree.

Usage (measure under the lock; build under nice, outside it):
  nice -n 19 python bench/bench_serve.py --build-only [--sizes 10000,100000,1000000]
  flock /tmp/crossmodal-bench.lock python bench/bench_serve.py [--sizes ...]
        [--store-root /tmp/crossmodal-serve-bench] [--load-sizes 100000,1000000]
        [--queries 500] [--load-seconds 60] [--clients 8] [--nodelay-probe] [--json-out FILE]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import select
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import bench_million  # noqa: E402
from bench_update import machine_line  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
VENV_BIN = Path(sys.executable).parent
CROSSMODAL = str(VENV_BIN / "crossmodal")
IMAGES = BENCH.parent / "sample_data" / "images"
FIRST_PICTURE = "astronaut_eileen_collins.jpg"  # loads the image model; not in the figures
PICTURES = (
    "cat_chelsea.png",
    "china_pagoda.jpg",
    "coffee_cup.webp",
    "dahlia_flower.jpg",
    "grace_hopper.jpg",
    "rocket_launch.jpg",
    "motorcycle_left.jpg",
    "hubble_deep_field.jpg",
)
K = 10
GOAL_P50_MS = 20.0
STAMP = f"r{time.time_ns() // 1_000_000 % 10**10}"  # this run's mark in every new query


# The --nodelay-probe's server: `crossmodal serve` itself, except that its listening socket is
# made with proto=IPPROTO_TCP. asyncio sets TCP_NODELAY on an accepted connection only when
# sock.proto == IPPROTO_TCP; serve/server.py's bind() made socket(family, SOCK_STREAM) (proto 0)
# until this probe showed its responses (headers, then body: two writes) meeting Nagle's
# algorithm and the client's delayed ACK. It now passes IPPROTO_TCP, and the probe is a check.
NODELAY_SERVE = """
import socket, sys, types
import crossmodal.serve.server as server

class TcpSocket(socket.socket):
    def __init__(self, family=-1, type=-1, proto=-1, fileno=None):
        if fileno is None and type == socket.SOCK_STREAM and proto in (-1, 0):
            proto = socket.IPPROTO_TCP
        super().__init__(family, type, proto, fileno)

patched = types.ModuleType("socket")
patched.__dict__.update(vars(socket))
patched.socket = TcpSocket
server.socket = patched
from cli.main import run
sys.argv = ["crossmodal", *sys.argv[1:]]
run()
"""


# -- queries --------------------------------------------------------------------------------
ADJECTIVES = ["red", "small", "old", "wet", "bright", "dark", "quiet", "busy", "green", "blue"]
ADJECTIVES += ["empty", "broken", "golden", "snowy", "sunny", "tall", "wooden", "noisy", "tiny"]
NOUNS = [*bench_million.WORDS, "horse", "boat", "bridge", "church", "market", "kitchen", "cake"]
NOUNS += ["letter", "invoice", "guitar", "piano", "mountain", "lake", "street", "window", "tree"]
NOUNS += ["child", "friend", "teacher", "doctor", "school", "office", "lamp", "chair", "clock"]


class Texts:
    """Distinct short query texts ("a wet dog and a bell by the river"): none of them in the
    store's query cache when the run began, none given twice in the run (one per size, shared
    by every phase and thread)."""

    def __init__(self, store: Path) -> None:
        self.seen = cached_keys(store)
        self.lock = threading.Lock()
        self.rng = np.random.default_rng(zlib.crc32(f"{store} {STAMP}".encode()))

    def next(self) -> str:
        from crossmodal.query_cache import text_cache_key

        with self.lock:
            while True:
                adjective = str(self.rng.choice(ADJECTIVES))
                a, b, c = self.rng.choice(NOUNS, size=3, replace=False).tolist()
                text = f"a {adjective} {a} and a {b} by the {c}"
                if (key := text_cache_key(text)) not in self.seen:
                    self.seen.add(key)
                    return text


def cached_keys(store: Path) -> set[str]:
    """The keys in the store's query cache (cache/queries.sqlite), read-only."""
    from crossmodal.query_cache import FILE_NAME

    path = store / "cache" / FILE_NAME
    if not path.exists():
        return set()
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {row[0] for row in conn.execute("SELECT key FROM entries")}
    finally:
        conn.close()


def picture_upload(name: str, tag: str) -> dict[str, str]:
    """A sample picture with the run's stamp after its image data: the same picture to decode,
    but bytes no store has seen (so its first upload is embedded, not answered by the cache)."""
    data = (IMAGES / name).read_bytes() + f"\0crossmodal-bench {STAMP} {tag}".encode()
    return {"data": base64.b64encode(data).decode(), "name": name}


# -- the server and a client ----------------------------------------------------------------
def proc_memory(pid: int) -> dict[str, float]:
    """VmRSS, VmHWM, RssAnon, RssFile of a process, MB."""
    found = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                found[key] = int(value.split()[0]) / 1024
    return found


class Served:
    """`crossmodal serve --store S --port 0` as a child; ready when it prints its URL."""

    def __init__(self, store: Path, log: Path, launcher: list[str] | None = None) -> None:
        self.log = log
        started = time.perf_counter()
        with open(log, "wb") as err:
            self.proc = subprocess.Popen(
                [*(launcher or [CROSSMODAL]), "serve", "--store", str(store), "--port", "0"],
                stdout=subprocess.PIPE,
                stderr=err,
                cwd="/",
            )
        assert self.proc.stdout is not None
        line = b""
        while not line.endswith(b"\n"):
            ready, _, _ = select.select([self.proc.stdout], [], [], 600)
            if not ready:
                self.stop()
                raise SystemExit("the server did not start within 600 s")
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                raise SystemExit(f"the server exited: {log.read_text()[-2000:]}")
            line += chunk
        self.startup = time.perf_counter() - started
        self.line = line.decode().strip()
        self.port = int(self.line.rstrip("/").rsplit(":", 1)[1])
        self.pid = self.proc.pid

    def memory(self) -> dict[str, float]:
        return proc_memory(self.pid)

    def stop(self) -> tuple[int | None, str]:
        """SIGTERM, then the exit status and the tail of stderr."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode, self.log.read_text(errors="replace")[-2000:]


class Client:
    """One keep-alive connection; `post` is one round trip, timed to the answer's last byte."""

    def __init__(self, port: int) -> None:
        self.port, self.connects = port, 0
        self.conn: http.client.HTTPConnection | None = None

    def _connect(self) -> http.client.HTTPConnection:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        conn.connect()
        assert conn.sock is not None
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connects += 1
        return conn

    def post(self, payload: dict[str, Any]) -> tuple[float, int, bytes]:
        """(seconds, HTTP status or 0 for a failed connection, body or the error's words)."""
        body = json.dumps(payload).encode()
        if self.conn is None:
            self.conn = self._connect()
        started = time.perf_counter()
        try:
            self.conn.request("POST", "/search", body, {"Content-Type": "application/json"})
            response = self.conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:
            seconds = time.perf_counter() - started
            self.close()
            return seconds, 0, f"{type(exc).__name__}: {exc}".encode()
        seconds = time.perf_counter() - started
        if response.will_close:
            self.close()
        return seconds, response.status, raw

    def get(self, path: str) -> float:
        """Seconds for one GET (the HTTP stack's own cost: no engine call)."""
        if self.conn is None:
            self.conn = self._connect()
        started = time.perf_counter()
        self.conn.request("GET", path)
        response = self.conn.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"GET {path}: HTTP {response.status}")
        return time.perf_counter() - started

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def answered(status: int, raw: bytes) -> str | None:
    """None for a good answer (200 with K results), else what was wrong."""
    if status != 200:
        return f"HTTP {status}: {raw[:200].decode('utf-8', 'replace')}"
    try:
        results = json.loads(raw)["results"]
    except (ValueError, KeyError, TypeError):
        return "HTTP 200 without a results list"
    return None if len(results) == K else f"{len(results)} results, not {K}"


def checked(client: Client, payload: dict[str, Any]) -> float:
    seconds, status, raw = client.post(payload)
    problem = answered(status, raw)
    if problem:
        raise SystemExit(f"request {json.dumps(payload)[:200]} failed: {problem}")
    return seconds


def figures(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1e3
    return {
        "n": len(ms),
        "p50": float(np.percentile(ms, 50)),
        "p99": float(np.percentile(ms, 99)),
        "mean": float(ms.mean()),
        "min": float(ms.min()),
        "max": float(ms.max()),
    }


def shown(f: dict[str, float]) -> str:
    return (
        f"p50 {f['p50']:7.1f} ms  p99 {f['p99']:7.1f} ms  mean {f['mean']:7.1f} ms  "
        f"(min {f['min']:.1f}, max {f['max']:.1f}; n={f['n']})"
    )


def load_line() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


# -- the phases -----------------------------------------------------------------------------
def latency(port: int, tag: str, texts: Texts, args: argparse.Namespace) -> dict[str, Any]:
    client, out = Client(port), {}
    out["first_text_ms"] = checked(client, {"text": texts.next(), "type": "text", "k": K}) * 1e3
    warm = [texts.next() for _ in range(20)]
    for text in warm:
        checked(client, {"text": text, "type": "text", "k": K})
    new = [
        checked(client, {"text": texts.next(), "type": "text", "k": K}) for _ in range(args.queries)
    ]
    out["text_new"] = figures(new)
    repeated = [
        checked(client, {"text": warm[0], "type": "text", "k": K}) for _ in range(args.repeats)
    ]
    out["text_repeated"] = figures(repeated)
    out["http_floor"] = figures([client.get("/openapi.json") for _ in range(50)])
    print(f"   first text query after start {out['first_text_ms']:7.1f} ms (the text model loads)")
    print(f"   GET /openapi.json {shown(out['http_floor'])} (HTTP alone, no engine call)")
    print(f"   text, new query   {shown(out['text_new'])}")
    print(f"   text, repeated    {shown(out['text_repeated'])}")

    first = picture_upload(FIRST_PICTURE, tag)
    out["first_picture_ms"] = checked(client, {"upload": first, "type": "text", "k": K}) * 1e3
    firsts, repeats, sizes = [], [], []
    for name in PICTURES[: args.pictures]:
        upload = picture_upload(name, tag)
        sizes.append(len(upload["data"]))
        payload = {"upload": upload, "type": "text", "k": K}
        firsts.append(checked(client, payload))
        repeats += [checked(client, payload) for _ in range(args.picture_repeats)]
    out["picture_first"] = figures(firsts)
    out["picture_repeated"] = figures(repeats)
    out["picture_base64_kb"] = [round(s / 1024) for s in sizes]
    out["connects"] = client.connects
    print(
        f"   first picture after start    {out['first_picture_ms']:7.1f} ms (the image model loads)"
    )
    print(f"   picture, first upload    {shown(out['picture_first'])}")
    print(f"   picture, repeated upload {shown(out['picture_repeated'])}")
    print(
        f"   ({len(sizes)} pictures, {min(sizes) // 1024}-{max(sizes) // 1024} KB of base64 each; "
        f"{client.connects} connection(s) for {1 + 20 + args.queries + args.repeats} texts, "
        f"{1 + len(firsts) + len(repeats)} uploads and 50 GETs)"
    )
    client.close()
    return out


def under_load(served: Served, texts: Texts, args: argparse.Namespace) -> dict[str, Any]:
    deadline = time.perf_counter() + args.load_seconds
    done: list[list[tuple[float, float, str | None]]] = [[] for _ in range(args.clients)]
    connects = [0] * args.clients

    def worker(number: int) -> None:
        client = Client(served.port)
        while time.perf_counter() < deadline:
            seconds, status, raw = client.post({"text": texts.next(), "type": "text", "k": K})
            done[number].append((time.perf_counter(), seconds, answered(status, raw)))
        connects[number] = client.connects
        client.close()

    before = served.memory()
    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(args.clients)]
    for thread in threads:
        thread.start()
    samples = []
    while any(t.is_alive() for t in threads):
        time.sleep(1.0)
        samples.append(served.memory())
    for thread in threads:
        thread.join()
    after = served.memory()
    time.sleep(5)
    settled = served.memory()
    rows = [row for rows in done for row in rows]
    elapsed = max(row[0] for row in rows) - started
    errors: dict[str, int] = {}
    for _, _, problem in rows:
        if problem:
            kind = problem[:80]
            errors[kind] = errors.get(kind, 0) + 1
    good = [seconds for _, seconds, problem in rows if not problem]
    out = {
        "clients": args.clients,
        "seconds": elapsed,
        "requests": len(rows),
        "per_second": len(rows) / elapsed,
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "latency": figures(good) if good else None,
        "connects": sum(connects),
        "memory_before": before,
        "memory_after": after,
        "memory_settled": settled,
        "rss_sampled_max": max(s["VmRSS"] for s in samples) if samples else None,
        "rss_sampled": [round(s["VmRSS"]) for s in samples],
    }
    per_thread = [len(rows) for rows in done]
    print(
        f"   {args.clients} clients, {elapsed:.1f} s: {len(rows):,} requests, "
        f"{out['per_second']:.1f} requests/s, errors {out['errors']} {errors or ''}"
    )
    print(
        f"   per client {min(per_thread)}-{max(per_thread)} requests; {sum(connects)} connections"
    )
    if good:
        print(f"   latency under load {shown(out['latency'])}")
    for name, memory in (("before", before), ("after", after), ("5 s after", settled)):
        print(
            f"   server memory {name:9s} VmRSS {memory['VmRSS']:7.1f} MB  RssAnon "
            f"{memory['RssAnon']:7.1f}  RssFile {memory['RssFile']:7.1f}  VmHWM {memory['VmHWM']:7.1f}"
        )
    grown = after["RssAnon"] - before["RssAnon"]
    print(
        f"   RssAnon {grown:+.1f} MB over {len(rows):,} new queries "
        f"({grown * 1024 / max(len(rows), 1):+.2f} KB each); VmRSS sampled max "
        f"{out['rss_sampled_max']:.1f} MB"
    )
    return out


def cold_cli(store: Path, texts: Texts, repeat: int) -> dict[str, Any]:
    """Median of `repeat` fresh `crossmodal search NEW_TEXT --type text --json` processes."""
    search = [CROSSMODAL, "search", "--type", "text", "--store", str(store), "--json"]
    subprocess.run([*search, texts.next()], capture_output=True, check=True, cwd="/")
    walls, results = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run([*search, texts.next()], capture_output=True, check=True, cwd="/")
        walls.append(time.perf_counter() - started)
        results = len(json.loads(done.stdout)["results"])
    print(
        f"   cold CLI search, new text: median {statistics.median(walls):.3f} s "
        f"{[round(w, 3) for w in walls]} ({results} results)"
    )
    return {"median_s": statistics.median(walls), "walls_s": walls, "results": results}


def measure(size: int, root: Path, args: argparse.Namespace) -> dict[str, Any]:
    store = root / str(size) / "store"
    out: dict[str, Any] = {"size": size, "load_average_start": os.getloadavg()}
    print(f"\n== {size:,} items ({store}); {load_line()}")
    onnx = store / "cache" / "onnx"
    out["onnx_cached_before"] = onnx.is_dir() and any(onnx.iterdir())
    texts = Texts(store)
    out["cached_queries_before"] = len(texts.seen)
    if not out["onnx_cached_before"]:
        print("   (no ONNX export in this store's cache yet: the first picture exports it)")
    served = Served(store, root / f"serve-{size}.err")
    out["startup_s"] = served.startup
    out["memory_start"] = served.memory()
    print(f"   server ready in {served.startup:.2f} s: {served.line}")
    try:
        out.update(latency(served.port, f"s{size}", texts, args))
        out["memory_after_latency"] = served.memory()
        if size in args.load_sizes:
            print(
                f"   -- {args.clients} concurrent clients, {args.load_seconds:g} s; {load_line()}"
            )
            out["load"] = under_load(served, texts, args)
    finally:
        code, err = served.stop()
    out["exit_code"], out["stderr_tail"] = code, err
    trouble = "Traceback" in err or code not in (0, -signal.SIGTERM)
    print(f"   server stopped: exit {code}{'; stderr: ' + err if trouble else ''}")
    out["cold"] = cold_cli(store, texts, args.cold_repeat)
    out["cold_over_warm_p50"] = out["cold"]["median_s"] * 1e3 / out["text_new"]["p50"]
    print(
        f"   cold process / warm server p50 (new text): {out['cold_over_warm_p50']:.0f}x; "
        f"{load_line()}"
    )
    if args.nodelay_probe:
        print("   -- probe: the same server with TCP_NODELAY on its connections (NODELAY_SERVE)")
        probe = Served(
            store, root / f"serve-{size}-nodelay.err", [sys.executable, "-c", NODELAY_SERVE]
        )
        try:
            print(f"   server ready in {probe.startup:.2f} s")
            out["nodelay"] = latency(probe.port, f"s{size}nodelay", texts, args)
        finally:
            code, err = probe.stop()
        print(
            f"   probe server stopped: exit {code}{'; stderr: ' + err if 'Traceback' in err else ''}"
        )
        out["nodelay_cold_over_warm_p50"] = (
            out["cold"]["median_s"] * 1e3 / out["nodelay"]["text_new"]["p50"]
        )
    out["load_average_end"] = os.getloadavg()
    return out


def latency_row(size: int, label: str, r: dict[str, Any], cold: dict[str, Any]) -> str:
    t, rep, floor = r["text_new"], r["text_repeated"], r["http_floor"]
    pf, pr = r["picture_first"], r["picture_repeated"]
    return (
        f"| {size:,} | {label} | {t['p50']:.1f} / {t['p99']:.1f} / {t['mean']:.1f} ms | "
        f"{rep['p50']:.1f} ms | {pf['p50']:.0f} / {pf['max']:.0f} ms | "
        f"{pr['p50']:.1f} / {pr['p99']:.1f} / {pr['mean']:.1f} ms | {floor['p50']:.2f} ms | "
        f"{cold['median_s']:.2f} s | {cold['median_s'] * 1e3 / t['p50']:.0f}x |"
    )


def summary(results: list[dict[str, Any]]) -> None:
    print(
        "\n| items | server | text new p50 / p99 / mean | text repeated p50 | "
        "picture first upload p50 / max | picture repeated p50 / p99 / mean | "
        f"GET /openapi.json p50 | cold CLI (median of {len(results[0]['cold']['walls_s'])}) | "
        "cold / warm text p50 |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        print(latency_row(r["size"], "as is", r, r["cold"]))
        if "nodelay" in r:
            print(latency_row(r["size"], "probe: TCP_NODELAY", r["nodelay"], r["cold"]))
    loaded = [r for r in results if "load" in r]
    if loaded:
        print(
            "\n| items | clients, seconds | requests/s | errors | p50 / p99 / mean under load | "
            "VmRSS before -> after | RssAnon before -> after | VmHWM |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for r in loaded:
            load = r["load"]
            b, a = load["memory_before"], load["memory_after"]
            lat = load["latency"] or {"p50": float("nan"), "p99": float("nan"), "mean": 0.0}
            print(
                f"| {r['size']:,} | {load['clients']}, {load['seconds']:.0f} s | "
                f"{load['per_second']:.1f} ({load['requests']:,}) | {load['errors']} | "
                f"{lat['p50']:.0f} / {lat['p99']:.0f} / {lat['mean']:.0f} ms | "
                f"{b['VmRSS']:.0f} -> {a['VmRSS']:.0f} MB | {b['RssAnon']:.0f} -> "
                f"{a['RssAnon']:.0f} MB | {a['VmHWM']:.0f} MB |"
            )
    million = [r for r in results if r["size"] >= 1_000_000]
    print()
    if million:
        for label, r in (("as is", million[0]), ("probe", million[0].get("nodelay"))):
            if r is not None:
                p50 = r["text_new"]["p50"]
                verdict = "met" if p50 <= GOAL_P50_MS else "NOT met"
                print(
                    f"goal: text p50 <= {GOAL_P50_MS:g} ms at 1M items ({label}): "
                    f"{verdict} ({p50:.1f} ms)"
                )
    else:
        print(f"goal: text p50 <= {GOAL_P50_MS:g} ms at 1M items: not measured (no 1M store)")


def sizes_of(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=sizes_of, default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--load-sizes", type=sizes_of, default=[100_000, 1_000_000])
    parser.add_argument("--store-root", type=Path, default=Path("/tmp/crossmodal-serve-bench"))
    parser.add_argument("--queries", type=int, default=500, help="distinct texts per size")
    parser.add_argument("--repeats", type=int, default=200, help="repeated-text requests")
    parser.add_argument("--pictures", type=int, default=6, help=f"at most {len(PICTURES)}")
    parser.add_argument("--picture-repeats", type=int, default=20)
    parser.add_argument("--cold-repeat", type=int, default=5)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--load-seconds", type=float, default=60.0)
    parser.add_argument(
        "--nodelay-probe",
        action="store_true",
        help="also the latency figures with TCP_NODELAY on the server's connections",
    )
    parser.add_argument("--build", action="store_true", help="build missing stores first")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--json-out", type=Path, help="all figures as JSON")
    args = parser.parse_args()
    root = args.store_root
    root.mkdir(parents=True, exist_ok=True)
    if args.build or args.build_only:
        for size in sorted(args.sizes):
            if not (root / str(size) / "built.json").exists():
                print(f"building the {size:,}-item store under {root / str(size)}", flush=True)
                started = time.perf_counter()
                bench_million.build_store(root / str(size), size)
                print(f"built in {time.perf_counter() - started:.0f} s", flush=True)
        if args.build_only:
            return
    print(machine_line())
    print(f"run stamp {STAMP}; {load_line()}; the machine is shared (see the load averages)")
    results = []
    for size in args.sizes:
        if not (root / str(size) / "built.json").exists():
            print(f"\n== {size:,} items: no store at {root / str(size)} (not built): skipped")
            continue
        results.append(measure(size, root, args))
    if results:
        summary(results)
    if args.json_out:
        args.json_out.write_text(json.dumps({"stamp": STAMP, "results": results}, indent=1))


if __name__ == "__main__":
    main()
