"""Build sample_data/phone/ and sample_data/documents/: the formats real collections hold (HEIC,
AVIF, camera RAW, M4A, Opus, AMR, WebM, WMA, MP4/MOV video, PDF, Office, EPUB, HTML, RTF, e-mail,
subtitles, UTF-16 and CP1252 text), each a conversion of a sample_data file (see SOURCES.md).

    .venv/bin/pip install reportlab tifffile && .venv/bin/python sample_data/make_formats.py

Not byte-for-byte reproducible (zip and PDF timestamps, Ogg serial numbers, MIME boundaries); the
outputs are committed. Needs espeak-ng for the
three new memos (the other memos come from make_sample_data.py the same way).
"""

from __future__ import annotations

import io
import subprocess
import tempfile
import zipfile
from email.message import EmailMessage
from pathlib import Path
from xml.sax.saxutils import escape

import av
import numpy as np
import soundfile as sf
from PIL import Image

OUT = Path(__file__).resolve().parent
PHONE = OUT / "phone"
DOCS = OUT / "documents"
DATASETS = OUT / "text" / "datasets"

# New voice memos (espeak-ng, British voice), each saved in a phone or recorder format.
MEMOS = [
    ("Recording_001.m4a", "Pick up the birthday cake from the bakery on Saturday morning."),
    ("Voice_002.opus", "The dentist moved my appointment to Thursday at half past ten."),
    ("call_0003.amr", "Hello, this is the garage. Your car is ready, the brakes are fixed."),
]


def _image(name: str) -> Image.Image:
    return Image.open(OUT / "images" / name).convert("RGB")


def _exif(date: str, orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x0132] = date
    exif.get_ifd(0x8769)[0x9003] = date
    return exif.tobytes()


def build_photos() -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()
    PHONE.mkdir(exist_ok=True)
    # Phones store a 320x240 thumbnail beside the picture; the decoder uses it (draft mode).
    _image("cat_chelsea.png").save(
        PHONE / "IMG_0001.HEIC",
        format="HEIF",
        quality=80,
        exif=_exif("2023:07:14 10:11:12"),
        thumbnails=[320],
    )
    # Stored turned on its side with EXIF orientation 8: libheif writes it as a HEIF rotation.
    rocket = _image("rocket_launch.jpg").transpose(Image.Transpose.ROTATE_270)
    rocket.save(
        PHONE / "IMG_0002.HEIC", format="HEIF", quality=80, exif=_exif("2024:03:02 18:30:00", 8)
    )
    _image("coffee_cup.webp").save(
        PHONE / "IMG_0003.avif", format="AVIF", quality=70, exif=_exif("2024:05:20 08:00:00")
    )
    # An EXIF-rotated JPEG: pixels stored sideways, orientation 6 turns them upright.
    moto = _image("motorcycle_left.jpg").transpose(Image.Transpose.ROTATE_90)
    moto.save(PHONE / "IMG_0004.JPG", quality=88, exif=_exif("2024:06:01 12:00:00", 6))
    write_dng(_image("dahlia_flower.jpg"), PHONE / "DSC_0005.DNG", preview=True)
    write_dng(_image("china_pagoda.jpg"), PHONE / "DSC_0006.DNG", preview=False)


def write_dng(image: Image.Image, path: Path, preview: bool, make: str = "Crossmodal") -> None:
    """A DNG whose sensor data is the photo as an RGGB mosaic (12-bit linear light); with
    `preview`, an 8-bit RGB preview as IFD0 and the mosaic as its SubIFD, as cameras write."""
    import tifffile

    rgb8 = np.asarray(image)
    height, width = rgb8.shape[0] // 2 * 2, rgb8.shape[1] // 2 * 2
    rgb8 = rgb8[:height, :width]
    light = rgb8 / 255.0
    light = np.where(light <= 0.04045, light / 12.92, ((light + 0.055) / 1.055) ** 2.4)
    level = np.round(light * 4095).astype(np.uint16)
    mosaic = np.empty((height, width), np.uint16)
    mosaic[0::2, 0::2] = level[0::2, 0::2, 0]
    mosaic[0::2, 1::2] = level[0::2, 1::2, 1]
    mosaic[1::2, 0::2] = level[1::2, 0::2, 1]
    mosaic[1::2, 1::2] = level[1::2, 1::2, 2]
    # ColorMatrix1 = XYZ -> linear sRGB, so the camera's colours are sRGB's.
    xyz_to_srgb = [3.2406, -1.5372, -0.4986, -0.9689, 1.8758, 0.0415, 0.0557, -0.2040, 1.0570]
    matrix = [v for x in xyz_to_srgb for v in (round(x * 10000), 10000)]
    common = [
        (271, "s", 0, make, True),
        (272, "s", 0, "Sample Camera", True),
        (306, "s", 0, "2022:09:10 16:20:00", True),
        (50706, "B", 4, bytes([1, 4, 0, 0]), True),
        (50707, "B", 4, bytes([1, 2, 0, 0]), True),
        (50708, "s", 0, f"{make} Sample Camera", True),
        (50721, "2i", 9, matrix, True),
        (50778, "H", 1, 21, True),
        (50728, "2I", 3, [1, 1, 1, 1, 1, 1], True),
        (274, "H", 1, 1, True),
    ]
    cfa = [
        (33421, "H", 2, (2, 2), True),
        (33422, "B", 4, bytes([0, 1, 1, 2]), True),
        (50714, "H", 1, 0, True),
        (50717, "H", 1, 4095, True),
    ]
    with tifffile.TiffWriter(path) as tif:
        if preview:
            tif.write(rgb8, photometric="rgb", subfiletype=1, subifds=1, extratags=common)
            tif.write(mosaic, photometric=32803, subfiletype=0, extratags=cfa)
        else:
            tif.write(mosaic, photometric=32803, subfiletype=0, extratags=common + cfa)


def encode_audio(
    data: np.ndarray, rate: int, path: Path, fmt: str, codec: str, out_rate: int, **tags: str
) -> None:
    """Encode mono float samples with FFmpeg (PyAV), with container tags."""
    layout = "stereo" if codec == "wmav2" else "mono"
    with av.open(str(path), "w", format=fmt) as out:
        for key, value in tags.items():
            out.metadata[key] = value
        stream = out.add_stream(codec, rate=out_rate, layout=layout)
        if codec == "wmav2":
            stream.bit_rate = 64000
        _mux_sound(out, stream, data, rate, layout)


def _mux_sound(out, stream, data: np.ndarray, rate: int, layout: str = "mono") -> None:  # type: ignore[no-untyped-def]
    """Resample mono float samples to `stream`'s format and rate, encode and mux them."""
    resampler = av.AudioResampler(
        format=stream.codec_context.format.name,
        layout=layout,
        rate=stream.codec_context.sample_rate,
    )
    frame = av.AudioFrame.from_ndarray(
        data.astype(np.float32).reshape(1, -1), format="flt", layout="mono"
    )
    frame.sample_rate = rate
    for chunk in resampler.resample(frame):
        for packet in stream.encode(chunk):
            out.mux(packet)
    for packet in stream.encode(None):
        out.mux(packet)


def build_sounds() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in MEMOS:
            wav = Path(tmp) / "memo.wav"
            subprocess.run(
                ["espeak-ng", "-v", "en-gb", "-s", "145", "-w", str(wav), text], check=True
            )
            data, rate = sf.read(wav, dtype="float32")
            fmt, codec, out_rate = {
                ".m4a": ("ipod", "aac", 44100),
                ".opus": ("ogg", "libopus", 48000),
                ".amr": ("amr", "libopencore_amrnb", 8000),
            }[Path(name).suffix]
            encode_audio(data, rate, PHONE / name, fmt, codec, out_rate)  # no tags: a phone's
    bell, rate = sf.read(OUT / "audio" / "bell.oga", dtype="float32")
    bell = bell.mean(axis=1) if bell.ndim > 1 else bell
    encode_audio(bell, rate, PHONE / "doorbell.wma", "asf", "wmav2", 44100, title="Door bell")
    alarm, rate = sf.read(OUT / "audio" / "alarm-clock-elapsed.oga", dtype="float32")
    alarm = alarm.mean(axis=1) if alarm.ndim > 1 else alarm
    encode_audio(alarm, rate, PHONE / "wake_up.webm", "webm", "libopus", 48000, title="Alarm clock")
    memo, rate = sf.read(OUT / "audio" / "memo_01.flac", dtype="float32")
    encode_audio(memo, rate, PHONE / "memo_01_lossless.m4a", "ipod", "alac", rate)


def build_videos() -> None:
    """Two short clips (a photo slowly zoomed, with a sound) in MP4 and MOV: recognised as video."""
    sound, rate = sf.read(OUT / "audio" / "speech_train.flac", dtype="float32")
    for name, photo in (("VID_0001.mp4", "grass.png"), ("VID_0002.mov", "gravel.png")):
        picture = _image(photo).resize((320, 240))
        with av.open(str(PHONE / name), "w") as out:
            video = out.add_stream("mpeg4", rate=10)
            video.width, video.height, video.pix_fmt = 320, 240, "yuv420p"
            audio = out.add_stream("aac", rate=44100, layout="mono")
            for index in range(20):
                crop = picture.crop((index, index, 320 - index, 240 - index)).resize((320, 240))
                frame = av.VideoFrame.from_image(crop)
                for packet in video.encode(frame):
                    out.mux(packet)
            for packet in video.encode(None):
                out.mux(packet)
            _mux_sound(out, audio, sound[: rate * 2], rate)


def _rst_paragraphs(name: str) -> list[str]:
    """A scikit-learn dataset description as plain paragraphs (RST markup dropped)."""
    text = (DATASETS / name).read_text()
    paragraphs = []
    for block in text.split("\n\n"):
        lines = [line.strip() for line in block.splitlines()]
        lines = [line for line in lines if line and not set(line) <= set("=-~*^ ")]
        lines = [line for line in lines if not line.startswith(".. ")]
        if lines:
            paragraphs.append(" ".join(lines).replace("**", "").replace("``", ""))
    return paragraphs


def build_pdf() -> None:
    """wine_data.rst on two text pages, then the scanned page (skimage's page.png) as page 3."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Image as FlowImage
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    styles = getSampleStyleSheet()
    paragraphs = _rst_paragraphs("wine_data.rst")
    half = len(paragraphs) // 2
    story = [Paragraph(escape(p), styles["BodyText"]) for p in paragraphs[:half]]
    story.append(PageBreak())
    story += [Paragraph(escape(p), styles["BodyText"]) for p in paragraphs[half:]]
    story.append(PageBreak())
    story.append(FlowImage(str(OUT / "images" / "scanned_page.png"), width=480, height=240))
    doc = SimpleDocTemplate(
        str(DOCS / "wine_dataset.pdf"), pagesize=A4, title="Wine recognition dataset"
    )
    doc.build(story)


def _zip(path: Path, members: dict[str, str]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in members.items():
            archive.writestr(name, body)


_CT = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.'
    'openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="'
    'application/xml"/><Override PartName="/{part}" ContentType="{kind}"/></Types>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.'
    'org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats'
    '.org/officeDocument/2006/relationships/officeDocument" Target="{part}"/></Relationships>'
)
_CORE = (
    '<?xml version="1.0" encoding="UTF-8"?><cp:coreProperties xmlns:cp="http://schemas.'
    'openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/'
    'elements/1.1/"><dc:title>{title}</dc:title></cp:coreProperties>'
)
W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def docx_bytes(paragraphs: list[str], title: str, document_xml: str | None = None) -> bytes:
    body = "".join(f"<w:p><w:r><w:t>{escape(p)}</w:t></w:r></w:p>" for p in paragraphs)
    xml = document_xml or (
        f'<?xml version="1.0" encoding="UTF-8"?><w:document {W}><w:body>{body}</w:body></w:document>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        kind = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
        archive.writestr("[Content_Types].xml", _CT.format(part="word/document.xml", kind=kind))
        archive.writestr("_rels/.rels", _RELS.format(part="word/document.xml"))
        archive.writestr("docProps/core.xml", _CORE.format(title=escape(title)))
        archive.writestr("word/document.xml", xml)
    return buffer.getvalue()


def build_office() -> None:
    (DOCS / "iris_dataset.docx").write_bytes(
        docx_bytes(_rst_paragraphs("iris.rst"), "Iris plants dataset")
    )
    # PPTX: the Olivetti faces description, a few paragraphs per slide.
    paragraphs = _rst_paragraphs("olivetti_faces.rst")
    slides = [paragraphs[i : i + 3] for i in range(0, len(paragraphs), 3)]
    ns = (
        'xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main" '
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"'
    )
    members = {
        "[Content_Types].xml": _CT.format(
            part="ppt/presentation.xml",
            kind="application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
        ),
        "_rels/.rels": _RELS.format(part="ppt/presentation.xml"),
        "docProps/core.xml": _CORE.format(title="The Olivetti faces dataset"),
        "ppt/presentation.xml": f'<?xml version="1.0" encoding="UTF-8"?><p:presentation {ns}/>',
    }
    for number, texts in enumerate(slides, 1):
        shapes = "".join(
            f"<p:sp><p:txBody><a:p><a:r><a:t>{escape(t)}</a:t></a:r></a:p></p:txBody></p:sp>"
            for t in texts
        )
        members[f"ppt/slides/slide{number}.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8"?><p:sld {ns}><p:cSld><p:spTree>{shapes}'
            "</p:spTree></p:cSld></p:sld>"
        )
    _zip(DOCS / "olivetti_faces.pptx", members)
    # XLSX: scikit-learn's iris.csv (the measurements) as a sheet with shared strings.
    import sklearn

    rows = (Path(sklearn.__file__).parent / "datasets/data/iris.csv").read_text().splitlines()
    header = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
    names = ["Iris setosa", "Iris versicolor", "Iris virginica"]
    strings = [*header, "species", *names]
    sheet_rows = ['<row r="1">' + "".join(f'<c t="s"><v>{i}</v></c>' for i in range(5)) + "</row>"]
    for number, line in enumerate(rows[1:], 2):
        *values, label = line.split(",")
        cells = "".join(f"<c><v>{v}</v></c>" for v in values)
        cells += f'<c t="s"><v>{5 + int(label)}</v></c>'
        sheet_rows.append(f'<row r="{number}">{cells}</row>')
    x = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    _zip(
        DOCS / "iris_measurements.xlsx",
        {
            "[Content_Types].xml": _CT.format(
                part="xl/workbook.xml",
                kind="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
            ),
            "_rels/.rels": _RELS.format(part="xl/workbook.xml"),
            "xl/workbook.xml": f'<?xml version="1.0"?><workbook {x}><sheets>'
            '<sheet name="iris flowers" sheetId="1"/></sheets></workbook>',
            "xl/sharedStrings.xml": f'<?xml version="1.0"?><sst {x}>'
            + "".join(f"<si><t>{escape(s)}</t></si>" for s in strings)
            + "</sst>",
            "xl/worksheets/sheet1.xml": f'<?xml version="1.0"?><worksheet {x}><sheetData>'
            + "".join(sheet_rows)
            + "</sheetData></worksheet>",
        },
    )
    # ODT: the breast cancer dataset description.
    paragraphs = _rst_paragraphs("breast_cancer.rst")
    office = (
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
    )
    body = "".join(f"<text:p>{escape(p)}</text:p>" for p in paragraphs)
    odt = DOCS / "breast_cancer_dataset.odt"
    with zipfile.ZipFile(odt, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "mimetype", "application/vnd.oasis.opendocument.text", compress_type=zipfile.ZIP_STORED
        )
        archive.writestr(
            "content.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {office}>'
            f"<office:body><office:text>{body}</office:text></office:body>"
            "</office:document-content>",
        )
        archive.writestr("META-INF/manifest.xml", '<?xml version="1.0"?><manifest/>')


def build_epub() -> None:
    """The twenty newsgroups description, a few paragraphs per chapter."""
    paragraphs = _rst_paragraphs("twenty_newsgroups.rst")
    chapters = [paragraphs[i : i + 6] for i in range(0, len(paragraphs), 6)]
    path = DOCS / "twenty_newsgroups.epub"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        archive.writestr(
            "META-INF/container.xml",
            '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:'
            'opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf" '
            'media-type="application/oebps-package+xml"/></rootfiles></container>',
        )
        items = "".join(
            f'<item id="c{n}" href="chap{n}.xhtml" media-type="application/xhtml+xml"/>'
            for n in range(1, len(chapters) + 1)
        )
        spine = "".join(f'<itemref idref="c{n}"/>' for n in range(1, len(chapters) + 1))
        archive.writestr(
            "OEBPS/content.opf",
            '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0">'
            '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>The 20 newsgroups '
            f"text dataset</dc:title></metadata><manifest>{items}</manifest><spine>{spine}"
            "</spine></package>",
        )
        for number, texts in enumerate(chapters, 1):
            body = "".join(f"<p>{escape(t)}</p>" for t in texts)
            archive.writestr(
                f"OEBPS/chap{number}.xhtml",
                '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>'
                f"Chapter {number}</title></head><body>{body}</body></html>",
            )


def build_markup() -> None:
    lfw = _rst_paragraphs("lfw.rst")
    body = "".join(f"<p>{escape(p)}</p>" for p in lfw)
    (DOCS / "labeled_faces.html").write_text(
        "<!DOCTYPE html><html><head><title>Labeled Faces in the Wild</title>"
        "<style>body{font-family:serif}</style><script>document.title='x'</script></head>"
        '<body><nav><a href="https://example.org/">Home</a> | <a href="/about">About</a></nav>'
        f'<main>{body}<img src="https://example.org/face.jpg" alt=""></main>'
        "<footer>Copyright notice</footer></body></html>",
        encoding="utf-8",
    )
    rcv1 = _rst_paragraphs("rcv1.rst")
    rtf_body = "".join("\\pard " + _rtf_escape(p) + "\\par\n" for p in rcv1)
    (DOCS / "reuters_corpus.rtf").write_text(
        "{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Times New Roman;}}\n" + rtf_body + "}", "ascii"
    )
    message = EmailMessage()
    message["Subject"] = "KDD Cup 99 intrusion detection data"
    message["From"] = "Data Librarian <librarian@example.org>"
    message["To"] = "team@example.org"
    message["Date"] = "Tue, 05 Mar 2024 09:30:00 +0000"
    message.set_content("\n\n".join(_rst_paragraphs("kddcup99.rst")))
    message.add_attachment(
        b"duration,protocol,service\n0,tcp,http\n",
        maintype="text",
        subtype="csv",
        filename="kddcup_sample.csv",
    )
    (DOCS / "kddcup99_mail.eml").write_bytes(bytes(message))
    # Subtitles of the six sample memos (their spoken sentences), as SRT and WebVTT.
    from make_sample_data import MEMOS as SAMPLE_MEMOS

    srt, vtt = [], ["WEBVTT", ""]
    for number, (_, text) in enumerate(SAMPLE_MEMOS, 1):
        start, end = (number - 1) * 40, (number - 1) * 40 + 6
        stamp = f"00:{start // 60:02d}:{start % 60:02d}"
        until = f"00:{end // 60:02d}:{end % 60:02d}"
        srt += [str(number), f"{stamp},000 --> {until},000", text, ""]
        vtt += [f"{stamp}.000 --> {until}.000", f"<v Speaker>{text}", ""]
    (DOCS / "memos.srt").write_text("\n".join(srt), encoding="utf-8")
    (DOCS / "memos.vtt").write_text("\n".join(vtt), encoding="utf-8")
    # Plain text in other encodings: captions of two sample photos.
    (DOCS / "hubble_note_utf16.txt").write_bytes(
        (OUT / "text" / "hubble_deep_field.txt").read_text().encode("utf-16")
    )
    grace = (OUT / "text" / "grace_hopper.txt").read_text().strip()
    (DOCS / "grace_hopper_cp1252.txt").write_bytes(
        f"\u201c{grace}\u201d \u2014 caf\u00e9 notes, na\u00efve r\u00e9sum\u00e9.\n".encode(
            "cp1252"
        )
    )


def _rtf_escape(text: str) -> str:
    out = []
    for char in text:
        if char in "\\{}":
            out.append("\\" + char)
        elif ord(char) > 127:
            out.append(f"\\u{ord(char)}?")
        else:
            out.append(char)
    return "".join(out)


# Each converted file is relevant wherever its source is: labels follow the source, never what
# crossmodal returns. The memo subtitles hold the six memos' sentences.
CONVERSIONS = {
    "images/cat_chelsea.png": ["phone/IMG_0001.HEIC"],
    "images/rocket_launch.jpg": ["phone/IMG_0002.HEIC"],
    "images/coffee_cup.webp": ["phone/IMG_0003.avif"],
    "images/motorcycle_left.jpg": ["phone/IMG_0004.JPG"],
    "images/dahlia_flower.jpg": ["phone/DSC_0005.DNG"],
    "images/china_pagoda.jpg": ["phone/DSC_0006.DNG"],
    "images/scanned_page.png": ["documents/wine_dataset.pdf"],
    "audio/memo_01.flac": ["phone/memo_01_lossless.m4a"],
    "audio/bell.oga": ["phone/doorbell.wma"],
    "audio/alarm-clock-elapsed.oga": ["phone/wake_up.webm"],
    "text/datasets/wine_data.rst": ["documents/wine_dataset.pdf"],
    "text/datasets/iris.rst": ["documents/iris_dataset.docx"],
    "text/datasets/olivetti_faces.rst": ["documents/olivetti_faces.pptx"],
    "text/datasets/breast_cancer.rst": ["documents/breast_cancer_dataset.odt"],
    "text/datasets/twenty_newsgroups.rst": ["documents/twenty_newsgroups.epub"],
    "text/datasets/lfw.rst": ["documents/labeled_faces.html"],
    "text/datasets/rcv1.rst": ["documents/reuters_corpus.rtf"],
    "text/datasets/kddcup99.rst": ["documents/kddcup99_mail.eml"],
    "text/hubble_deep_field.txt": ["documents/hubble_note_utf16.txt"],
    "text/grace_hopper.txt": ["documents/grace_hopper_cp1252.txt"],
    **{
        f"audio/memo_0{n}.flac": ["documents/memos.srt", "documents/memos.vtt"] for n in range(1, 7)
    },
}


def _modality(path: str) -> str:
    if path.startswith(("text/", "documents/")):
        return "text"
    return (
        "audio"
        if path.startswith("audio/") or path.endswith((".m4a", ".wma", ".webm"))
        else "image"
    )


def relabel() -> None:
    """Add the conversions to the relevant lists of sample_data/queries.jsonl (idempotent): those
    of each relevant file, and those of the query's own files (a copy of the query picture is
    the picture most like it), where the query's type admits their modality."""
    import json

    path = OUT / "queries.jsonl"
    lines = []
    for line in path.read_text().splitlines():
        query = json.loads(line)
        relevant = list(query["relevant"])
        asked = query["query"] if isinstance(query["query"], dict) else {}
        own = [v for key in ("image", "audio") for v in _as_list(asked.get(key))]
        kinds = {"all": {"image", "audio", "text"}}.get(
            query.get("type", "all"), {query.get("type")}
        )
        for source in [*query["relevant"], *own]:
            relevant += [
                c
                for c in CONVERSIONS.get(source, [])
                if c not in relevant and _modality(c) in kinds
            ]
        query["relevant"] = relevant
        lines.append(json.dumps(query, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n")


def _as_list(value: object) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(OUT))
    PHONE.mkdir(exist_ok=True)
    DOCS.mkdir(exist_ok=True)
    build_photos()
    build_sounds()
    build_videos()
    build_pdf()
    build_office()
    build_epub()
    build_markup()
    relabel()
