"""Media types: the file-name extensions each one uses and the bytes each one starts with.

These are facts of the formats (IANA media-type registrations, the formats' own specifications), not policy: which
media types a document type accepts is configuration (``settings.documents_media_types``).
"""

from __future__ import annotations

# media type -> extensions a file of that type may carry (lower case, with the dot)
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "image/jpeg": (".jpg", ".jpeg", ".jpe", ".jfif"),
    "image/png": (".png",),
    "image/webp": (".webp",),
    "image/heic": (".heic", ".heif"),
    "video/mp4": (".mp4", ".m4v"),
    "video/quicktime": (".mov", ".qt"),
    "video/webm": (".webm",),
    "video/3gpp": (".3gp", ".3gpp"),
    "application/pdf": (".pdf",),
    "text/csv": (".csv",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (".docx",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (".xlsx",),
}

# How many leading bytes :func:`sniff` looks at.
SNIFF_BYTES = 16


def _iso_bmff_brand(head: bytes) -> str | None:
    """ISO base media files (MP4, QuickTime, 3GP, HEIC; ISO/IEC 14496-12) start with a box ``....ftyp<brand>``."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return head[8:12].decode("latin-1")
    return None


def sniff(head: bytes) -> frozenset[str] | None:
    """Media types whose signature matches the first bytes of a file; None when no known signature matches.

    Signatures: JPEG FF D8 FF (ITU T.81), PNG 89 'PNG' 0D 0A 1A 0A (RFC 2083), PDF '%PDF-' (ISO 32000), WebP
    'RIFF' .... 'WEBP' (RFC 9649), WebM/Matroska 1A 45 DF A3 (EBML, RFC 8794), Office Open XML files are ZIP
    archives 'PK' 03 04 (ECMA-376), ISO base media by the ftyp brand.
    """
    if head.startswith(b"\xff\xd8\xff"):
        return frozenset({"image/jpeg"})
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return frozenset({"image/png"})
    if head.startswith(b"%PDF-"):
        return frozenset({"application/pdf"})
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return frozenset({"image/webp"})
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return frozenset({"video/webm"})
    if head.startswith(b"PK\x03\x04"):
        return frozenset({"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})
    brand = _iso_bmff_brand(head)
    if brand is not None:
        if brand.startswith("qt"):
            return frozenset({"video/quicktime"})
        if brand.startswith("3g"):
            return frozenset({"video/3gpp"})
        if brand in ("heic", "heix", "heim", "heis", "mif1", "msf1", "hevc", "hevx"):
            return frozenset({"image/heic"})
        # isom, iso2, mp41, mp42, avc1, M4V ... and phones' own brands: an MP4 family file
        return frozenset({"video/mp4", "video/quicktime", "video/3gpp"})
    return None


def has_signature(media_type: str) -> bool:
    """True for the media types :func:`sniff` can recognise (text formats such as CSV have no signature)."""
    return media_type in EXTENSIONS and media_type != "text/csv"


def content_problem(media_type: str, head: bytes) -> str | None:
    """Why the first bytes of a file contradict its declared media type, or None."""
    if not has_signature(media_type):
        return None
    found = sniff(head)
    if found is not None and media_type in found:
        return None
    looks = f" (it looks like {' or '.join(sorted(found))})" if found else ""
    return f"the content is not {media_type}{looks}"


def extension_problem(media_type: str, filename: str) -> str | None:
    """Why the file name's extension contradicts the declared media type, or None (unknown types are not judged)."""
    allowed = EXTENSIONS.get(media_type)
    if allowed is None:
        return None
    name = filename.lower()
    if not name.endswith(allowed):
        return f"a {media_type} file name ends with {' or '.join(allowed)}"
    return None
