"""HTTP routes of the progress domain."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
