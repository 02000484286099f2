"""The Vietnamese catalogue covers every translatable string and is complete."""

from __future__ import annotations

import shutil
import subprocess
import sys

from babel.messages.pofile import read_po

from tests.conftest import ROOT, require

PO = ROOT / "locale" / "vi" / "LC_MESSAGES" / "django.po"


def read_catalogue(path):
    with path.open("rb") as handle:
        return read_po(handle, locale="vi")


def test_every_vietnamese_message_is_translated_and_none_is_fuzzy():
    catalogue = read_catalogue(PO)
    untranslated = [
        m.id for m in catalogue if m.id and not (all(m.string) if isinstance(m.string, tuple) else m.string)
    ]
    fuzzy = [m.id for m in catalogue if m.id and m.fuzzy]
    assert untranslated == []
    assert fuzzy == []


def test_the_catalogue_holds_every_string_marked_in_the_code(tmp_path):
    require(shutil.which("xgettext") is not None, "GNU gettext (xgettext)")
    work = tmp_path / "src"
    shutil.copytree(
        ROOT,
        work,
        ignore=shutil.ignore_patterns(".venv", "var", ".git", "node_modules", "__pycache__", "*.mo"),
    )
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "makemessages",
            "--locale",
            "vi",
            "--no-obsolete",
            "--no-location",
            "--ignore",
            "tests/*",
        ],
        cwd=work,
        check=True,
        capture_output=True,
        env={
            "PATH": "/usr/bin:/bin",
            "DEBUG": "true",
            "VAR_DIR": str(tmp_path / "var"),
            "HOME": str(tmp_path),
        },
    )
    extracted = {m.id for m in read_catalogue(work / "locale/vi/LC_MESSAGES/django.po") if m.id}
    committed = {m.id for m in read_catalogue(PO) if m.id}
    assert sorted(extracted - committed, key=str) == [], "run `make makemessages` and translate"
