"""The data standard's input model of a document record."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from pydantic import Field, field_validator, model_validator

from jaldpi.core.schemas import RecordIn, Ref
from jaldpi.standard.codelists import literal

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
# RFC 6838 type/subtype (restricted-name), without parameters
MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$")


class DocumentIn(RecordIn):
    document_type: literal("document_types") = Field(description="code list document_types")  # type: ignore[valid-type]
    title: str | None = Field(None, max_length=200)
    filename: str = Field(min_length=1, max_length=255, description="The file's name as uploaded (no folders)")
    media_type: str = Field(max_length=127, description="IANA media type of the content, e.g. image/jpeg")
    size_bytes: int | None = Field(None, ge=1, description="Size of the content in bytes; taken from the store "
                                   "when absent, refused when it differs from the stored content")
    sha256: str = Field(description="SHA-256 of the content, 64 lower-case hex digits: the content must already be "
                        "in the node's document store (POST /api/v1/documents/upload stores it)")
    admin_unit: Ref = Field(description="The administrative unit the document belongs to, usually a village (LGD "
                            "code, id or code): its jurisdiction")
    captured_at: dt.datetime | None = Field(None, description="When the photo or video was taken")
    lon: float | None = Field(None, ge=-180, le=180, description="Geotag: longitude, WGS 84 degrees")
    lat: float | None = Field(None, ge=-90, le=90, description="Geotag: latitude, WGS 84 degrees")
    subject_type: str | None = Field(None, min_length=1, max_length=64, description="What the document documents: "
                                     "a registry or record type, e.g. schemes, components, workflow_cases")
    subject_id: str | None = Field(None, min_length=1, max_length=64, description="Id or code of that record")
    public: bool = Field(False, description="The content may be served to anyone (/public/v1/documents/{key}/"
                         "content), e.g. Har Ghar Jal certificates, resolutions and videos")
    attributes: dict[str, Any] = Field(default_factory=dict)

    @field_validator("sha256", mode="before")
    @classmethod
    def _sha256(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().lower()
            if not SHA256_HEX.match(value):
                raise ValueError("must be 64 hexadecimal digits (a SHA-256)")
        return value

    @field_validator("media_type", mode="before")
    @classmethod
    def _media_type(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(";", 1)[0].strip().lower()  # parameters (charset=...) are not part of the type
            if not MEDIA_TYPE.match(value):
                raise ValueError("must be a media type such as image/jpeg")
        return value

    @field_validator("filename")
    @classmethod
    def _filename(cls, value: str) -> str:
        if "/" in value or "\\" in value or value in (".", "..") or any(ord(c) < 32 for c in value):
            raise ValueError("a file name without folders or control characters")
        return value

    @model_validator(mode="after")
    def _pairs(self) -> "DocumentIn":
        if (self.lon is None) != (self.lat is None):
            raise ValueError("a geotag gives both lon and lat")
        if self.subject_id is not None and self.subject_type is None:
            raise ValueError("subject_id needs subject_type")
        return self
