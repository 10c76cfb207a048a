"""Media-type checks: file-name extensions and content signatures (pure functions)."""

from __future__ import annotations

from jaldpi.documents.media import content_problem, extension_problem, sniff
from jaldpi.documents.service import clean_filename, guess_media_type
from tests.documents.conftest import JPEG, MP4, PDF, PNG


def test_signatures():
    assert sniff(JPEG) == {"image/jpeg"}
    assert sniff(PNG) == {"image/png"}
    assert sniff(PDF) == {"application/pdf"}
    assert "video/mp4" in sniff(MP4)
    assert sniff(b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00") == {"video/quicktime"}
    assert sniff(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00") == {"image/heic"}
    assert sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == {"image/webp"}
    assert sniff(b"plain text") is None


def test_content_and_extension_problems():
    assert content_problem("image/jpeg", JPEG[:16]) is None
    assert content_problem("image/jpeg", PDF[:16]) == "the content is not image/jpeg (it looks like application/pdf)"
    assert content_problem("image/png", b"garbage bytes") == "the content is not image/png"
    assert content_problem("text/csv", b"a,b\n1,2\n") is None  # no signature to judge by
    assert extension_problem("image/jpeg", "IMG_0001.JPG") is None
    assert extension_problem("application/pdf", "scan.jpg") == "a application/pdf file name ends with .pdf"
    assert extension_problem("application/x-unknown", "whatever.bin") is None


def test_file_names():
    assert clean_filename("C:\\fakepath\\site photo.jpg") == "site photo.jpg"
    assert clean_filename("../../etc/passwd") == "passwd"
    assert guess_media_type("VID_20261120.MP4") == "video/mp4"
    assert guess_media_type("notes.txt") is None
