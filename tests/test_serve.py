"""`crossmodal serve`: the JSON API, its security, and serving while `update` publishes.

Real servers (the CLI in a subprocess, on 127.0.0.1 only, stopped by PID), a real store made by
`crossmodal update` with the builtin models from sample_data, real HTTP (http.client)."""

from __future__ import annotations

import base64
import http.client
import io
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.conftest import write_tone
from tests.served import Served

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
CLI = [sys.executable, "-m", "cli.main"]
IMAGES = [
    "cat_chelsea.png",
    "coffee_cup.webp",
    "rocket_launch.jpg",
    "grass.png",
    "moon_surface.png",
]
SOUNDS = ["bell.oga", "boom.wav", "car_door.wav"]


def run_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*CLI, *args], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    if check and done.returncode != 0:
        raise AssertionError(f"crossmodal {' '.join(args)}: {done.returncode}\n{done.stderr}")
    return done


def make_collection(root: Path) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "sounds").mkdir()
    (root / "notes").mkdir()
    for name in IMAGES:
        shutil.copy(SAMPLE / "images" / name, root / "images" / name)
    for name in SOUNDS:
        shutil.copy(SAMPLE / "audio" / name, root / "sounds" / name)
    (root / "notes" / "coffee.txt").write_text("Buy coffee beans and milk on the way home.\n")
    (root / "notes" / "rockets.md").write_text("# Launch day\nThe rocket lifted off at dawn.\n")
    # a name that is not UTF-8 (a tone of its own: no duplicate of another sound)
    write_tone(root / "sounds" / "tone.wav", 660.0)
    os.rename(
        os.fsencode(root / "sounds" / "tone.wav"), os.fsencode(root / "sounds") + b"/tone\xff.wav"
    )
    (root / "notes" / "page.html").write_text(
        "<html><body><h1>Trip notes</h1><p>We walked on the grass by the lake.</p>"
        "<script>alert(1)</script></body></html>\n"
    )
    return root


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("serve")
    media = make_collection(base / "media")
    store = base / "store"
    run_cli("update", str(media), "--store", str(store), "--quiet")
    return media, store


@pytest.fixture(scope="module")
def server(built: tuple[Path, Path]) -> Iterator[Served]:
    served = Served(built[1], "--max-upload-mb", "2")
    yield served
    served.stop()
    assert served.proc.returncode == 0, served.proc.stderr.read()


def ids_by_name(server: Served) -> dict[str, int]:
    answer = server.search(text="a", type="all", k=50)
    return {Path(r["path"]).name: r["id"] for r in answer["results"]}


# -- the API -------------------------------------------------------------------------------
def test_search_answers_what_the_cli_prints(server: Served, built: tuple[Path, Path]) -> None:
    answer = server.search(text="a cat", type="image", k=5)
    cli = json.loads(run_cli("search", "a cat", "--type", "image", "-k", "5", "--json",
                             "--store", str(built[1])).stdout)  # fmt: skip
    assert [r["path"] for r in answer["results"]] == [r["path"] for r in cli["results"]]
    assert Path(answer["results"][0]["path"]).name == "cat_chelsea.png"
    for mine, theirs in zip(answer["results"], cli["results"], strict=True):
        assert mine["id"] > 0 and {k: v for k, v in mine.items() if k != "id"} == theirs
    assert answer["query"] == cli["query"]


def test_search_by_indexed_file_id_or_path_but_never_another_file(server: Served) -> None:
    ids = ids_by_name(server)
    by_id = server.search(image=ids["cat_chelsea.png"], type="image", k=3)
    status, item = server.json("GET", f"/items/{ids['cat_chelsea.png']}")
    assert status == 200 and item["modality"] == "image"
    by_path = server.search(image=item["path"], type="image", k=3)
    assert [r["path"] for r in by_id["results"]] == [r["path"] for r in by_path["results"]]
    for value in ("/etc/passwd", "../../etc/passwd", str(ROOT / "README.md"), 10**9, True):
        status, answer = server.json("POST", "/search", {"image": value})
        assert status == 400 and "not an indexed file" in answer["error"], (value, answer)


def test_upload_a_picture_and_a_sound(server: Served) -> None:
    data = (SAMPLE / "images" / "cat_chelsea.png").read_bytes()
    upload = {"data": base64.b64encode(data).decode(), "name": "my cat.png"}
    answer = server.search(upload=upload, type="image", k=3)
    assert Path(answer["results"][0]["path"]).name == "cat_chelsea.png"
    assert "upload:my cat.png" in json.dumps(answer["query"])
    sound = base64.b64encode((SAMPLE / "audio" / "bell.oga").read_bytes()).decode()
    answer = server.search(upload={"data": sound, "name": "b.oga"}, type="audio", k=2)
    assert Path(answer["results"][0]["path"]).name == "bell.oga"
    for bad, message in (({"data": "***"}, "not base64"), ({"name": "x"}, "upload must be"),
                         ({"data": base64.b64encode(b"hello").decode()}, "upload is a picture")):  # fmt: skip
        status, answer = server.json("POST", "/search", {"upload": bad})
        assert status == 400 and message in answer["error"], answer
    assert server.json("GET", "/stats")[0] == 200


def test_uploads_leave_nothing_behind(server: Served, built: tuple[Path, Path]) -> None:
    folder = built[1] / "cache" / "uploads"
    assert not folder.exists() or not any(folder.iterdir())


def test_paging_and_limits(server: Served) -> None:
    whole = server.search(text="a", type="all", k=8)["results"]
    first = server.search(text="a", type="all", k=4)
    second = server.search(text="a", type="all", k=4, offset=4)
    assert [r["path"] for r in first["results"] + second["results"]] == [r["path"] for r in whole]
    assert [r["rank"] for r in second["results"]] == [5, 6, 7, 8]
    assert first["more"] is True and second["offset"] == 4
    everything = server.search(text="a", type="all", k=100)["results"]
    exact = server.search(text="a", type="all", k=len(everything))
    assert exact["more"] is False and len(exact["results"]) == len(everything)
    assert server.search(text="a", type="all", k=len(everything) - 1)["more"] is True
    status, answer = server.json("POST", "/search", {"text": "a", "under": "images"})
    assert status == 400 and "absolute folder" in answer["error"]
    for bad in ({"text": "a", "k": 0}, {"text": "a", "offset": -1}, {"text": "a", "k": 9000, "offset": 2000},
                {"text": "a", "k": "ten"}, {"text": 5}):  # fmt: skip
        status, answer = server.json("POST", "/search", bad)
        assert status == 400 and answer["error"], (bad, answer)


def test_recommend_with_because(server: Served) -> None:
    ids = ids_by_name(server)
    status, answer = server.json("POST", "/recommend",
                                 {"like": [ids["cat_chelsea.png"], ids["grass.png"]], "type": "image", "k": 3})  # fmt: skip
    assert status == 200, answer
    names = [Path(r["path"]).name for r in answer["results"]]
    assert names and "cat_chelsea.png" not in names and "grass.png" not in names
    assert all(r["because"] for r in answer["results"])
    status, again = server.json("POST", "/recommend",
                                {"like": [ids["cat_chelsea.png"]], "dislike": [ids["grass.png"]], "type": "image", "k": 3})  # fmt: skip
    assert status == 200 and again["profile"]["dislikes"]
    for bad in ({"like": ["/etc/passwd"]}, {"like": [ids["cat_chelsea.png"]], "history": "/etc/passwd"},
                {"like": [ids["cat_chelsea.png"]], "frobnicate": 1}, {}):  # fmt: skip
        status, answer = server.json("POST", "/recommend", bad)
        assert status == 400 and answer["error"], (bad, answer)


def test_items_thumbnails_and_media_with_range(server: Served, built: tuple[Path, Path]) -> None:
    ids = ids_by_name(server)
    cat = ids["cat_chelsea.png"]
    status, headers, data = server.request("GET", f"/thumb/{cat}")
    assert status == 200 and headers["content-type"] == "image/jpeg"
    picture = Image.open(io.BytesIO(data))
    assert picture.format == "JPEG" and max(picture.size) == 256
    assert list((built[1] / "cache" / "thumbs").glob("*-256.jpg"))  # cached by content
    assert server.request("GET", f"/thumb/{cat}?size=128")[0] == 200
    assert server.request("GET", f"/thumb/{cat}?size=9999")[0] == 400
    assert server.request("GET", f"/thumb/{ids['bell.oga']}")[0] == 404
    original = (SAMPLE / "images" / "cat_chelsea.png").read_bytes()
    status, headers, data = server.request("GET", f"/media/{cat}", headers={"Range": "bytes=10-19"})
    assert status == 206 and data == original[10:20]
    assert headers["content-range"] == f"bytes 10-19/{len(original)}"
    assert "sandbox" in headers["content-security-policy"]
    status, headers, data = server.request("GET", f"/media/{ids['bell.oga']}")
    assert status == 200 and headers["content-type"].startswith("audio/") and len(data) > 1000
    # an indexed web page is a download, never a page that runs in the server's origin
    status, headers, _ = server.request("GET", f"/media/{ids['page.html']}")
    assert status == 200 and headers["content-type"] == "application/octet-stream"
    assert headers["content-disposition"].startswith("attachment")
    assert server.request("GET", "/items/999999")[0] == 404
    status, stats = server.json("GET", "/stats")
    assert status == 200 and stats["server"]["requests"] > 0
    status, spec = server.json("GET", "/openapi.json")
    assert status == 200 and {"/search", "/recommend", "/media/{item_id}"} <= set(spec["paths"])


# -- security ------------------------------------------------------------------------------
TRAVERSALS = [
    "/media/..%2F..%2F..%2Fetc%2Fpasswd", "/media/../../etc/passwd", "/static/../api.py",
    "/static/%2e%2e%2fapi.py", "/static/..%2Fapi.py", "/thumb/1/../../../etc/passwd",
    "/media/%2Fetc%2Fpasswd", "/media/-1", "/media/1.5", "/media/0x1", "/items/1%00",
    "/static/app.js%00.html", "//etc/passwd", "/media/99999999999999999999999",
]  # fmt: skip


def test_path_traversal_is_404(server: Served) -> None:
    for path in TRAVERSALS:
        status, _, data = server.request("GET", path)
        assert status == 404, (path, status)
        assert b"root:" not in data and b"def " not in data


def test_a_file_swapped_for_a_symlink_is_not_served(
    server: Served, built: tuple[Path, Path]
) -> None:
    media = built[0]
    ids = ids_by_name(server)
    target = media / "notes" / "coffee.txt"
    saved = target.read_bytes()
    secret = built[0].parent / "secret.txt"
    secret.write_bytes(b"never indexed " * 3)
    try:
        target.unlink()
        target.symlink_to(secret)
        status, _, data = server.request("GET", f"/media/{ids['coffee.txt']}")
        assert status == 404 and b"never indexed" not in data
    finally:
        target.unlink()
        target.write_bytes(saved)


def test_host_origin_methods_and_content_type(server: Served) -> None:
    assert server.request("GET", "/stats", headers={"Host": "evil.example"})[0] == 400
    assert (
        server.request("GET", "/stats", headers={"Host": f"evil.example:{server.port}"})[0] == 400
    )
    assert server.request("GET", "/stats", headers={"Host": f"localhost:{server.port}"})[0] == 200
    assert server.request("GET", "/stats", headers={"Sec-Fetch-Site": "cross-site"})[0] == 403
    assert server.request("GET", "/search")[0] == 405
    assert server.request("PUT", "/search", {"text": "a"})[0] == 405
    assert server.request("POST", "/items/1", {"text": "a"})[0] == 405
    assert server.request("DELETE", "/items/1")[0] == 405
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert server.request("POST", "/search", b"text=a", headers=form)[0] == 415
    plain = {"Content-Type": "text/plain"}
    assert server.request("POST", "/search", b'{"text": "a"}', headers=plain)[0] == 415
    status, headers, _ = server.request("GET", "/")
    assert status == 200 and "script-src 'self'" in headers["content-security-policy"]
    assert headers["cross-origin-resource-policy"] == "same-origin"
    assert "access-control-allow-origin" not in headers


def test_oversized_uploads_and_bombs_are_4xx(server: Served) -> None:
    big = {"upload": {"data": base64.b64encode(os.urandom(3 << 20)).decode(), "name": "x.png"}}
    assert server.request("POST", "/search", big)[0] == 413
    # no Content-Length: the body is counted as it arrives
    conn = server.connection()
    conn.putrequest("POST", "/search", skip_host=True)
    for name, value in (("Host", server.host), ("Content-Type", "application/json"),
                        ("Transfer-Encoding", "chunked")):  # fmt: skip
        conn.putheader(name, value)
    conn.endheaders()
    chunk = b"x" * (1 << 20)
    try:
        for _ in range(4):
            conn.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        conn.send(b"0\r\n\r\n")
    except OSError:
        pass  # the server may stop reading once it has refused
    assert conn.getresponse().status == 413
    conn.close()
    # a decompression bomb: a 30000 x 30000 PNG of a few kB
    bomb = bomb_png(30000, 30000)
    assert len(bomb) < 1 << 20
    status, answer = server.json(
        "POST", "/search", {"upload": {"data": base64.b64encode(bomb).decode(), "name": "b.png"}}
    )
    assert status == 400 and "bomb" in answer["error"], answer
    assert server.search(text="a cat", k=1)["results"]


def bomb_png(width: int, height: int) -> bytes:
    """A valid greyscale PNG header and rows of zeros, deflated: tiny on disk, huge decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (len(data).to_bytes(4, "big") + kind + data
                + zlib.crc32(kind + data).to_bytes(4, "big"))  # fmt: skip

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    compressor = zlib.compressobj(9)
    row = b"\0" * (width + 1)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


def test_a_thousand_malformed_requests_then_an_answer(server: Served) -> None:
    conn = server.connection()
    bodies = [b"{", b"[]", b"null", b'"text"', b"\xff\xfe", b"{" * 5000 + b"}" * 5000,
              b'{"text": NaN}', b'{"k": 1e999}', b'{"text": "a", "k": -5}', b""]  # fmt: skip
    statuses = set()
    for number in range(1000):
        status, _, data = server.request(
            "POST", "/search", bodies[number % len(bodies)],
            headers={"Content-Type": "application/json"}, conn=conn,
        )  # fmt: skip
        statuses.add(status)
        assert 400 <= status < 500 and json.loads(data)["error"]
        if conn.sock is None:  # the server closed it: open another
            conn = server.connection()
    conn.close()
    assert statuses == {400}
    assert server.search(text="a rocket", k=1)["results"]


def test_token_is_required_when_given(built: tuple[Path, Path]) -> None:
    served = Served(built[1], "--token", "s3cret-token")
    try:
        assert served.request("GET", "/stats")[0] == 401
        assert served.request("GET", "/stats", headers={"Authorization": "Bearer wrong"})[0] == 401
        ok = {"Authorization": "Bearer s3cret-token"}
        assert served.request("GET", "/stats", headers=ok)[0] == 200
        assert served.request("POST", "/search", {"text": "a cat"}, headers=ok)[0] == 200
        assert served.request("POST", "/search", {"text": "a cat"})[0] == 401
        status, headers, _ = served.request("GET", "/?token=s3cret-token")
        assert status == 200 and "HttpOnly" in headers["set-cookie"]
        cookie = headers["set-cookie"].split(";")[0]
        assert served.request("GET", "/stats", headers={"Cookie": cookie})[0] == 200
        assert served.request("GET", "/stats?token=s3cret-token")[0] == 200
    finally:
        served.stop()


def test_non_loopback_bind_generates_a_token(built: tuple[Path, Path]) -> None:
    from crossmodal.serve.app import ServeConfig
    from crossmodal.serve.server import Server, is_loopback
    from crossmodal.store import Store

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10")
    config = ServeConfig(host="0.0.0.0")
    server = Server(Store.open(built[1]), config)
    assert server.generated_token and len(config.token or "") >= 24
    given = ServeConfig(host="0.0.0.0", token="mine")
    assert Server(Store.open(built[1]), given).config.token == "mine"
    assert ServeConfig().host == "127.0.0.1"
    import socket

    local = Server(Store.open(built[1]), ServeConfig(port=0))
    local.bind()
    try:  # a TCP listener: asyncio then sets TCP_NODELAY on each connection (no 40 ms waits)
        assert local.sock is not None and local.sock.proto == socket.IPPROTO_TCP
        assert local.config.port > 0 and local.url == f"http://127.0.0.1:{local.config.port}/"
    finally:
        local.sock.close()


def test_a_port_in_use_is_one_line(server: Served, built: tuple[Path, Path]) -> None:
    done = run_cli("serve", "--store", str(built[1]), "--port", str(server.port), check=False)
    assert done.returncode == 1 and "cannot listen on" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


# -- the CLI through a server ----------------------------------------------------------------
def test_search_server_and_batch(server: Served, built: tuple[Path, Path], tmp_path: Path) -> None:
    local = json.loads(run_cli("search", "a rocket launch", "--json", "-k", "3",
                               "--store", str(built[1])).stdout)  # fmt: skip
    remote = json.loads(run_cli("search", "a rocket launch", "--json", "-k", "3",
                                "--server", server.url).stdout)  # fmt: skip
    assert [r["path"] for r in remote["results"]] == [r["path"] for r in local["results"]]
    by_file = run_cli("search", str(SAMPLE / "images" / "cat_chelsea.png"), "--type", "image",
                      "--format", "paths", "-k", "1", "--server", server.url).stdout  # fmt: skip
    assert by_file.strip().endswith("cat_chelsea.png")
    lines = tmp_path / "q.jsonl"
    lines.write_text('{"text": "a cat", "type": "image", "k": 2, "id": "c"}\nnot json\n'
                     '{"image": "/etc/passwd"}\n')  # fmt: skip
    out = [
        json.loads(x)
        for x in run_cli(
            "search", "--batch", str(lines), "--server", server.url
        ).stdout.splitlines()
    ]
    assert out[0]["id"] == "c" and len(out[0]["results"]) == 2
    assert out[1]["id"] == 2 and "not JSON" in out[1]["error"]
    assert "not an indexed file" in out[2]["error"]
    done = run_cli("search", "a cat", "--server", "http://127.0.0.1:9/", check=False)
    assert done.returncode == 1 and "cannot reach server" in done.stderr
    done = run_cli("search", "a cat", "--server", server.url, "--store", str(built[1]), check=False)
    assert done.returncode == 1 and "does not apply with --server" in done.stderr


# -- generations -----------------------------------------------------------------------------
def test_serving_through_updates_switches_generation(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    """Clients query without pause while `update` publishes new index generations: no request
    fails, and the new pictures are found once published, with no restart."""
    media = tmp_path / "media"
    shutil.copytree(built[0], media, symlinks=True)
    store = tmp_path / "store"
    shutil.copytree(built[1], store)
    run_cli("relocate", str(built[0]), str(media), "--store", str(store))
    served = Served(store)
    failures: list[str] = []
    answered = [0]
    stop = threading.Event()

    def client() -> None:
        conn = served.connection()
        while not stop.is_set():
            try:
                status, _, data = served.request(
                    "POST", "/search", {"text": "a motorcycle", "type": "image", "k": 3}, conn=conn
                )
                if status != 200:
                    failures.append(f"{status} {data[:200]!r}")
                answered[0] += 1
            except (OSError, http.client.HTTPException) as exc:
                failures.append(repr(exc))
                conn = served.connection()

    threads = [threading.Thread(target=client) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        before = served.search(text="a motorcycle", type="image", k=1)["results"][0]["path"]
        assert "motorcycle" not in before
        for round_number, name in enumerate(("motorcycle_left.jpg", "motorcycle_right.png")):
            shutil.copy(SAMPLE / "images" / name, media / "images" / name)
            run_cli("update", str(media), "--store", str(store), "--quiet")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                top = served.search(text="a motorcycle", type="image", k=2)["results"]
                if sum("motorcycle" in r["path"] for r in top) == round_number + 1:
                    break
                time.sleep(0.2)
            else:
                raise AssertionError(f"round {round_number}: no switch to the new generation")
        _, stats = served.json("GET", "/stats")
        assert stats["server"]["generation_switches"] >= 2
        assert stats["server"]["next_generation_error"] is None
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        served.stop()
    assert answered[0] > 20 and not failures, failures[:5]


def test_hostile_fields_are_400_and_ids_are_ascii(server: Served) -> None:
    for bad, message in (
        ({"text": ["a"] * 100}, "at most 32 texts"),
        ({"text": "a" * 30_000}, "characters"),
        ({"text": "a", "id": float("nan")}, "finite number"),
        ({"image": 10**30}, "not an indexed file"),
        ({"image": -3}, "not an indexed file"),
        ({"text": "\ud800"}, "not Unicode"),
        ({"text": "a", "under": "\udcff"}, "not Unicode"),
    ):
        body = json.dumps(bad).replace("NaN", "NaN").encode()
        status, _, data = server.request(
            "POST", "/search", body, headers={"Content-Type": "application/json"}
        )
        assert status == 400 and message in json.loads(data)["error"], (bad, data)
    status, answer = server.json("POST", "/recommend", {"prefer": "\ud800"})
    assert status == 400
    for path in ("/items/%D9%A2", "/items/%EF%BC%92", "/media/%D9%A2", "/items/%C2%B2"):
        assert server.request("GET", path)[0] == 404, path
    assert server.request("GET", "/thumb/1?size=%D9%A2%D9%A5%D9%A6")[0] == 400
    # a float k pages like an int
    floats = server.search(text="a", type="all", k=5.0, offset=3)["results"]
    ints = server.search(text="a", type="all", k=5, offset=3)["results"]
    assert [r["rank"] for r in floats] == [r["rank"] for r in ints] == [4, 5, 6, 7, 8]


def test_a_name_that_is_not_utf8(server: Served) -> None:
    answer = server.search(text="a", type="audio", k=20)
    (tone,) = [
        r for r in answer["results"] if r["path"].endswith("tone\\xff.wav")
    ]  # the catalog shows it escaped
    status, headers, data = server.request("GET", f"/media/{tone['id']}")
    assert status == 200 and data[:4] == b"RIFF"
    assert server.search(audio=tone["id"], type="audio", k=1)["results"][0]["id"] == tone["id"]


def test_silent_connections_are_closed(server: Served) -> None:
    import socket

    from crossmodal.serve.server import HEADER_SECONDS

    silent = socket.create_connection(("127.0.0.1", server.port))
    half = socket.create_connection(("127.0.0.1", server.port))
    half.sendall(b"GET /stats HTTP/1.1\r\nHost: " + server.host.encode() + b"\r\n")
    for sock in (silent, half):
        sock.settimeout(HEADER_SECONDS + 10)
    started = time.monotonic()
    assert silent.recv(100) == b"" and half.recv(100) == b""
    assert HEADER_SECONDS - 1 < time.monotonic() - started < HEADER_SECONDS + 5
    silent.close()
    half.close()
    # a request that is answered keeps its connection for the next one
    conn = server.connection()
    assert server.request("GET", "/stats", conn=conn)[0] == 200
    assert server.request("GET", "/stats", conn=conn)[0] == 200
    conn.close()


def test_thumbnail_times_are_bounded(server: Served, built: tuple[Path, Path]) -> None:
    ids = ids_by_name(server)
    cat = ids["cat_chelsea.png"]
    folder = built[1] / "cache" / "thumbs"
    before = set(folder.glob("*"))
    for t in ("5", "17.3", "900"):
        assert server.request("GET", f"/thumb/{cat}?size=256&t={t}")[0] == 200
    assert not {
        p.name for p in set(folder.glob("*")) - before if "-t" in p.name
    }  # a picture ignores t


def test_search_server_refuses_redirects(tmp_path: Path) -> None:
    import http.server

    seen: list[str] = []

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            seen.append(self.headers.get("Authorization", ""))
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{self.server.server_port}/steal")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        env = {**os.environ, "CROSSMODAL_TOKEN": "tok"}
        done = subprocess.run([*CLI, "search", "a cat", "--server", f"http://127.0.0.1:{httpd.server_port}/"],
                              cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)  # fmt: skip
        assert done.returncode == 1 and "not followed" in done.stderr, done.stderr
        assert seen == ["Bearer tok"]  # once, to the server named; never to /steal
    finally:
        httpd.shutdown()
