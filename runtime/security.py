"""Response headers that make a browser refuse what Jimu never means to do.

Every response carries a strict Content-Security-Policy: scripts only from
Jimu's own origin (no inline script, no ``eval``), so a definition or record
value that slips into a page as markup still cannot run; ``nosniff`` so an
uploaded file is never taken for a script or a page; a Referrer-Policy that
keeps private links (status tokens) from leaking to other sites.

Framing: pages are not framable (``frame-ancestors 'none'``, clickjacking),
except the public pages of a form that declares ``public.embed_origins``; those
may be framed by exactly those origins (a company's web site embedding its
contact form). A view opts in with ``allow_framing(origins)``.
"""
from __future__ import annotations

from typing import Iterable

from flask import Flask, Response, g

#: style-src keeps 'unsafe-inline': plotly.js and the designers position elements with style
#: attributes; styles cannot run script, and script-src stays strict.
_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
           "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
           "base-uri 'self'; form-action 'self'; frame-ancestors {ancestors}")


def allow_framing(origins: Iterable[str]) -> None:
    """Let this response be framed by ``origins`` (exact ``scheme://host[:port]`` values, validated by the
    form schema); with none given the page stays unframable."""
    g.frame_origins = [o for o in origins if o]


def _headers(response: Response) -> Response:
    origins = g.get("frame_origins") or []
    response.headers["Content-Security-Policy"] = _POLICY.format(ancestors=" ".join(origins) or "'none'")
    if not origins:
        response.headers["X-Frame-Options"] = "DENY"  # for browsers without frame-ancestors
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def init_security(app: Flask) -> None:
    app.after_request(_headers)
