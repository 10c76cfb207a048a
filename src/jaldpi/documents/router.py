"""HTTP routes of the documents domain."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
