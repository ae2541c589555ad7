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

Cross-origin reads (CORS): no response may be read by a page of another origin, except those of a
view that calls ``allow_cors(origins)`` (the live chat's visitor API, for the origins its form
declares); the request's ``Origin`` is echoed only when it is one of them, with ``Vary: Origin``.
No credentials are ever allowed cross-origin: such callers prove themselves with a token header.
"""
from __future__ import annotations

from typing import Iterable

from flask import Flask, Response, g, request

#: style-src keeps 'unsafe-inline': plotly.js and the designers position elements with style
#: attributes; styles cannot run script, and script-src stays strict.
_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
           "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
           "base-uri 'self'; form-action 'self'; frame-ancestors {ancestors}")


def allow_framing(origins: Iterable[str]) -> None:
    """Let this response be framed by ``origins`` (exact ``scheme://host[:port]`` values, validated by the
    form schema); with none given the page stays unframable."""
    g.frame_origins = [o for o in origins if o]


#: what a cross-origin caller allowed by ``allow_cors`` may send (a preflight's answer)
CORS_HEADERS = "Content-Type, X-Chat-Token"


def allow_cors(origins: Iterable[str]) -> None:
    """Let pages of ``origins`` read this response (and send it ``CORS_HEADERS``)."""
    g.cors_origins = [o for o in origins if o]


def _cors(response: Response) -> None:
    origin = request.headers.get("Origin")
    if origin and origin in (g.get("cors_origins") or ()):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
        response.headers["Access-Control-Max-Age"] = "600"
    if g.get("cors_origins") is not None:
        response.vary.add("Origin")


def _headers(response: Response) -> Response:
    _cors(response)
    origins = g.get("frame_origins") or []
    response.headers["Content-Security-Policy"] = _POLICY.format(ancestors=" ".join(origins) or "'none'")
    if not origins:
        response.headers["X-Frame-Options"] = "DENY"  # for browsers without frame-ancestors
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def init_security(app: Flask) -> None:
    app.after_request(_headers)
