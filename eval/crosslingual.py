"""Build the cross-lingual text->text eval from human-translated AppStream descriptions.

    python eval/crosslingual.py [--cache eval/.cache] [--out eval/crosslingual]

Desktop applications' AppStream metainfo files (/usr/share/metainfo/*.xml in the pinned Debian
binary packages of PACKAGES) carry a one-line <summary> and a <description> of paragraphs, each
element repeated with xml:lang for every language the project's translators (GNOME, KDE, Xfce,
MATE and the apps' own teams, through gettext or Transifex/Weblate) translated. Nothing here is
machine translated. An application is used when its summary and every description paragraph
and list item are translated into each of en, zh (zh_CN), es, de, ja and ru, and no translation
is a copy of the English text.

For each such application this writes one document per language,
eval/crosslingual/docs/app_NNN_LANG.txt (the description: paragraphs separated by blank lines,
the items of a list one a line), numbered in a seeded shuffle, and the queries in
eval/crosslingual_queries.jsonl: the summary in language Q searching the documents of
language D (the "filters": {"lang": D} of each line), relevant = the same application's
description in D. Kinds "text->text/Q->D": Q->en and en->D for the five other languages, and
D->D for all six (same-language references). A summary shared by two applications in one
language is not asked. eval/crosslingual/manifest.jsonl records each application's package,
version, metainfo file and metadata licence.

Needs apt-get (Debian bookworm sources) and dpkg-deb. See eval/SOURCES.md ("Cross-lingual
documents").
"""

from __future__ import annotations

import argparse
import io
import json
import random
import subprocess
import sys
import tarfile
from pathlib import Path
from xml.etree import ElementTree

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import build  # noqa: E402  (eval/build.py: _sha256)

SEED = 18
LANGS = ("en", "zh", "es", "de", "ja", "ru")
# xml:lang tags taken for each language (None: the untagged English original)
TAGS: dict[str, tuple[str | None, ...]] = {
    "en": (None,),
    "zh": ("zh_CN", "zh-CN", "zh-Hans"),
    "es": ("es",),
    "de": ("de",),
    "ja": ("ja",),
    "ru": ("ru",),
}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

# Debian bookworm binary packages: name -> (version, sha256 of the .deb). These are the ones
# whose metainfo passed the rule above; KDE's bookworm files (22.12) lack Japanese almost
# everywhere, so most applications are GNOME's, Xfce's and MATE's.
PACKAGES: dict[str, tuple[str, str]] = {
    "dolphin": ("4:22.12.3-1", "51e87e649d1297cf17d38f6f4c679101fba01fca5b61a73d8ced48e3835355d0"),
    "elisa": ("22.12.3-1", "cad1d8a9273686d9db958b7b8c1169e52aef0ef3d47688fd28c188ec76b188b2"),
    "kcalc": ("4:22.12.3-1", "204ecb5904b86b641123d881bf46412cef7ee1323de5bb7ef73afd8186bb5f9c"),
    "baobab": ("43.0-1", "acab793673e0f559080b492a40281c5ea7da04da5830c28c346cca62860fad69"),
    "caja": (
        "1.26.1-1+deb12u1",
        "0e879a0170d2c5301d50010c67ca434532def9d890a5a46400acc6c6c3fdc3b4",
    ),
    "calibre": (
        "6.13.0+repack-2+deb12u10",
        "2147531d04a2db377d4a16e23e49fe99f7ac878c8f0c61e77311d71eecfd87d4",
    ),
    "catfish": ("4.16.4-2", "c73bda68167d1318123d202db7d76519346555441cc36037bc8f46f3ee23ea72"),
    "cheese": ("43.0-1", "a16ed60b6b7c709a3a0456e007b368ec26a971d737e37cf0dd84ed4be42ab4b2"),
    "darktable": ("4.2.1-4", "68f31b90862a6be7c53d3df52aa32747ca22aeb75396ea3e944bd9317327ca76"),
    "dino-im": ("0.4.2-1", "459185a10b41de9032942aaa0e8b1de130fe205b4d547e78fe22d05860959e1d"),
    "eog": ("43.2-1+deb12u1", "986338ef28f9dc57141f11c27df27b453f95bbe460d44f4a9ec6c7d815e9ccc2"),
    "evince": (
        "43.1-2+deb12u1",
        "b9b13c50173c75494fa217b87521ff8b86db3178df9a4b2682f929e8dcc317fa",
    ),
    "file-roller": ("43.0-1", "2bb8ba003a234b82228154ca5555c55e464b010d1d866605658d1cd510e52de2"),
    "five-or-more": (
        "1:3.32.3-1",
        "68ec2a4e6237f5a9b0f867c017007028cff8f41520280b9e1f73a04d36d29c7d",
    ),
    "font-manager": ("0.8.8-2", "1fac1c5b724a34bc126c8cc02f8270bd2ffdafd4b6754d41489890b19387ae16"),
    "geary": ("43.0-1+b1", "b0f81cfd88cb645822b76e0822e9c874d9a05ffa3ccb97abff9d1be67dedd280"),
    "gnome-calculator": (
        "1:43.0.1-2",
        "395526cc25086a0ad15cdcd6daf403e5eb542cfe494de743e2e9394c39a0f065",
    ),
    "gnome-calendar": (
        "43.1-2",
        "9450a87456994688aabc8d70d479003cfacd48a2018a9baa79f1940ba009795e",
    ),
    "gnome-characters": (
        "43.1-1+deb12u1",
        "2efd02d1f34bfe32c80bf2833d665475428ea536c7aacabaa48f4d9ca4fc7c48",
    ),
    "gnome-clocks": ("43.0-1", "cd92c912a6f69789785b9e898611a6f8ced7659597e000e8f7a92583cf259a46"),
    "gnome-color-manager": (
        "3.36.0-1+b1",
        "94478a0605b657ab4dc45c73f01ac2077997169d94c3f41299cee50fc05b2571",
    ),
    "gnome-connections": (
        "43.0-1",
        "37f818469b2ea6d2ea285db71d3ff1b2af98512e5d422ba344c8db8767680939",
    ),
    "gnome-console": ("43.0-2", "0017d1a8cbfeb7cf43a10d923bccf3c79d46ccb393150a4b459356626bfed9b7"),
    "gnome-contacts": (
        "43.1-1",
        "9ab4c5f785d4207564e6bf3ad95389a02fb2d95d41cb7d95ea6aa773e6eb3638",
    ),
    "gnome-control-center": (
        "1:43.6-2~deb12u1",
        "45371b91f76142e6aa7258ce69984f813b679a7156526df2988b4206dcb7f809",
    ),
    "gnome-dictionary": (
        "40.0-3",
        "428344ad24333010f81c3d6c9a6d77566cc12858603637551b38e622c8223f9d",
    ),
    "gnome-disk-utility": (
        "43.0-1",
        "39f4cbc4a5aa12844c004706edae49d88a3ab320c8cfd76c5ae9674060e7a381",
    ),
    "gnome-font-viewer": (
        "43.0-1",
        "778869fa296a64db0d568f7359708a0ac91d3d976fd97bfcaa914cc96e8330e3",
    ),
    "gnome-logs": ("43.0-1", "6d64422e389bb6d0a0afc070d7db2c837a0e1269ce11d4f8fb3a7fa9806dc28d"),
    "gnome-nettool": ("42.0-1", "4e9f646ed2cb52e90166b7aeebb61148bbef5a5133b3facc364b1a8db573b1d9"),
    "gnome-photos": ("43.0-2", "8326055da9148126964eeab6db86a5abd3e375ddbb0c5bd1213c1984c42371f5"),
    "gnome-sound-recorder": (
        "43~beta-1",
        "a157d2d9e7c13813f0412a8fa76cd7907bae30e5d17f76afc659718afdcf970d",
    ),
    "gnome-sushi": ("43.0-2", "76c2775b51188840cbcad6d768d9e448f50f561d6577db03aed4b021ba2cd385"),
    "gnome-system-monitor": (
        "42.0-2",
        "fb6f0c54b9af1a17e1d047dccbe4a8df6b54fe2cde4cb6a214d78dabbee3ea68",
    ),
    "gnome-terminal": (
        "3.46.8-1",
        "697f832da9c8bea357289eea13615d57c328a0dbec17e99123f4855fc564a5ea",
    ),
    "gnome-tweaks": (
        "42~beta-4",
        "81c93af5af1939fe9da066470265ea20e6539ff6e48f9d0b344caff4fd6af601",
    ),
    "gnome-usage": ("3.38.1-3", "a56caa80cd2213b6a3769c320d279385a3e881871bb37a053177699d3e216507"),
    "gnome-weather": ("43.0-1", "1e4dab9fce4a4df111db20b7b8d29bceb4e449167db3e314ad207da8b22518b7"),
    "gnote": ("43.1-1", "b9e9c163e011c3d93769d07b6a6876a3c8edeb36e8d0cbd4d4f65cd08daf91f8"),
    "goobox": ("3.6.0-11", "c2d577ac8496f539db3b2d06cd777f949af76286640544e8b6a8cc857e69eaad"),
    "gthumb": ("3:3.12.2-3+b1", "086703eb95b2258fefe2078416513688909e416107fde0524de93b1258d62ae4"),
    "gtranslator": ("42.0-1", "c5e252c24bd2cfbe0f573b32027036ff0269ece24c169480e37fdf12a9a06813"),
    "hitori": ("3.38.4-2", "c0f9217c97efbda4fb1a8af3e38725ca9447a0a071b181dbaff22b08fd00162d"),
    "inkscape": (
        "1.2.2-2+deb12u1",
        "838dc6b30685055a4ff963931c458e5ea3e3fb0459c43a890a85663339233032",
    ),
    "lollypop": ("1.4.37-1", "9bc99cd621a98c5fed68199dbfd97663eae45667c8f2e6257f9233dfad7beb6e"),
    "metadata-cleaner": (
        "2.4.0+ds-1",
        "b7776e511aed07281fd34831be739f017e3c7e2b3e8a3b24d514885594845667",
    ),
    "mousepad": ("0.5.10-2", "98a8800dd1693dcf7e4fa3723c21de65be54a95800b6d6b734624fe1e5f6543b"),
    "nautilus": ("43.2-1", "77342a620612f7c72e014553c7107e731e6f087fdba88e30f374d1ae74f1740f"),
    "rhythmbox": ("3.4.6-2+b1", "1f063e04d6530ab22a82a72ca11dc67b210a13a5fa2c68febfe6df592aaddc66"),
    "ristretto": ("0.12.4-1", "829e42eaa2f8fd78df729a44f77e3029d211e79c7a254abfb51f75aa97044f45"),
    "seahorse": ("43.0-1", "9568f42e1587c556f90143fdc252b6dc99276684a4da140b07607efb583968d4"),
    "simple-scan": ("42.5-2", "782842b780d6069fbc422122e40cd38de19c3577a8129e431744028b812ff2ef"),
    "totem": ("43.0-2", "3be6fbe6f583d1563d7ea60b307f97db875d2bb9950f3da2e718ebe0efaf9a61"),
    "vinagre": ("3.22.0-8.1", "a0681fdc27e5c1e8f90e900ace84b3286b86d3274d9e043c6f9a51068c37d5d3"),
    "xfce4-appfinder": (
        "4.18.0-1",
        "f48912b0f672db43b3a76893430c317d177b8879ff48ce40cdfd31bf7ccd8fd3",
    ),
    "yelp": ("42.2-1+deb12u2", "2c86938397f78be6947a13b992bcc21ac61735c3523e94b51ad2bb40bf930ee0"),
}


def fetch_metainfo(name: str, cache: Path) -> dict[str, bytes]:
    """The package's /usr/share/metainfo/*.xml files (path -> bytes), downloaded once, checked."""
    version, sha = PACKAGES[name]
    downloads = cache / "deb"
    downloads.mkdir(parents=True, exist_ok=True)
    quoted = version.replace(":", "%3a")
    found = sorted(downloads.glob(f"{name}_{quoted}_*.deb"))
    if not found:
        subprocess.run(["apt-get", "download", f"{name}={version}"], cwd=downloads, check=True)
        found = sorted(downloads.glob(f"{name}_{quoted}_*.deb"))
    archive = found[-1]
    if build._sha256(archive) != sha:
        sys.exit(f"{archive}: SHA-256 differs from the pinned one; delete it and rerun")
    data = subprocess.run(
        ["dpkg-deb", "--fsys-tarfile", str(archive)], check=True, capture_output=True
    ).stdout
    files = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar.getmembers():
            path = member.name.removeprefix(".")
            if (
                member.isfile()
                and path.startswith("/usr/share/metainfo/")
                and path.endswith(".xml")
            ):
                files[path] = tar.extractfile(member).read()  # type: ignore[union-attr]
    return files


def _text(element: ElementTree.Element) -> str:
    return " ".join("".join(element.itertext()).split())


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def translations(xml: bytes) -> dict[str, tuple[str, str]] | None:
    """{lang: (summary, description text)} when every language has a full translation."""
    root = ElementTree.fromstring(xml)
    if _local(root.tag) != "component":
        return None
    description = next((c for c in root if _local(c.tag) == "description"), None)
    if description is None:
        return None
    summaries = {c.get(XML_LANG): _text(c) for c in root if _local(c.tag) == "summary"}
    # blocks, in order: an English <p> with the translated <p>s after it, or a list's <li>s
    blocks: list[tuple[str, list[ElementTree.Element]]] = []
    for child in description:
        tag = _local(child.tag)
        if tag == "p" and child.get(XML_LANG) is None:
            blocks.append(("p", [child]))
        elif tag == "p" and blocks and blocks[-1][0] == "p":
            blocks[-1][1].append(child)  # a translation of the paragraph before
        elif tag in ("ul", "ol"):
            blocks.append(("list", [li for li in child if _local(li.tag) == "li"]))
    out: dict[str, tuple[str, str]] = {}
    for lang in LANGS:
        tags = TAGS[lang]
        summary = next((summaries[t] for t in tags if summaries.get(t)), None)
        if not summary:
            return None
        paragraphs = []
        for kind, elements in blocks:
            originals = [e for e in elements if e.get(XML_LANG) is None]
            chosen = [e for e in elements if e.get(XML_LANG) in tags]
            if lang != "en":
                # one tag only (zh_CN before zh-CN), and one translation per original
                for tag in tags:
                    picked = [e for e in chosen if e.get(XML_LANG) == tag]
                    if picked:
                        chosen = picked
                        break
            if len(chosen) != len(originals) or not originals:
                if kind == "p" and not originals:
                    continue
                return None
            texts = [_text(e) for e in chosen]
            if not all(texts):
                return None
            paragraphs.append("\n".join(texts))
        if not paragraphs:
            return None
        out[lang] = (summary, "\n\n".join(paragraphs))
    english_summary, english_text = out["en"]
    for lang in LANGS[1:]:
        summary, text = out[lang]
        if summary == english_summary or text == english_text:
            return None  # a copy, not a translation
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=HERE / ".cache")
    parser.add_argument("--out", type=Path, default=HERE / "crosslingual")
    parser.add_argument("--queries", type=Path, default=HERE / "crosslingual_queries.jsonl")
    args = parser.parse_args()

    apps = []
    for name in sorted(PACKAGES):
        for path, xml in sorted(fetch_metainfo(name, args.cache).items()):
            texts = translations(xml)
            if texts is None:
                continue
            root = ElementTree.fromstring(xml)
            licence = next(
                (_text(c) for c in root if _local(c.tag) == "metadata_license"), "unknown"
            )
            component = next((_text(c) for c in root if _local(c.tag) == "id"), "")
            apps.append(
                {
                    "package": name,
                    "version": PACKAGES[name][0],
                    "file": path,
                    "id": component,
                    "metadata_license": licence,
                    "texts": texts,
                }
            )
    random.Random(SEED).shuffle(apps)

    docs = args.out / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    for old in docs.glob("app_*.txt"):
        old.unlink()
    manifest = []
    for number, app in enumerate(apps, 1):
        app["name"] = f"app_{number:03d}"
        for lang in LANGS:
            (docs / f"{app['name']}_{lang}.txt").write_text(app["texts"][lang][1] + "\n")
        manifest.append(
            {
                "app": app["name"],
                "package": app["package"],
                "version": app["version"],
                "metainfo": app["file"],
                "component": app["id"],
                "metadata_license": app["metadata_license"],
                "summary": {lang: app["texts"][lang][0] for lang in LANGS},
            }
        )
    with open(args.out / "manifest.jsonl", "w") as handle:
        for row in manifest:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")

    pairs = [(q, "en") for q in LANGS[1:]] + [("en", d) for d in LANGS[1:]]
    pairs += [(lang, lang) for lang in LANGS]
    shared = {
        lang: {
            s
            for s in {a["texts"][lang][0] for a in apps}
            if sum(a["texts"][lang][0] == s for a in apps) > 1
        }
        for lang in LANGS
    }
    relative = args.out.resolve().relative_to(args.queries.resolve().parent)
    queries = []
    for q, d in pairs:
        for app in apps:
            summary = app["texts"][q][0]
            if summary in shared[q]:
                continue
            queries.append(
                {
                    "id": f"xl-{q}-{d}-{app['name']}",
                    "kind": f"text->text/{q}->{d}",
                    "query": summary,
                    "type": "text",
                    "relevant": [f"{relative}/docs/{app['name']}_{d}.txt"],
                    "filters": {"lang": d},
                    "lang": q,
                }
            )
    with open(args.queries, "w") as handle:
        for row in queries:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(apps)} applications, {len(apps) * len(LANGS)} documents, {len(queries)} queries")


if __name__ == "__main__":
    main()
