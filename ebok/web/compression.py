"""Compressing what holds no secret: the pages kept for every visitor (the login page,
whose only secret is the CSRF token, masked afresh in every response), the service
worker, the manifest and the offline page.

Other pages stay uncompressed: a signed-in page puts personal data next to what the
request chose (the query string the language switcher carries back, a path), and BREACH
reads a secret out of the sizes of compressed responses that echo an attacker's guesses
next to it. The app decides it, not nginx, because only the app knows which responses
those are. Static files come precompressed (ebok.web.assets).
"""

import gzip

import brotli
from flask import Response, after_this_request, g, request

from ebok.web.security import add_vary

# Brotli's quality 5: about as small as its best for a 10 KB page (2.8 KB against 2.5 KB)
# in half a millisecond, where quality 11 takes tens of milliseconds.
BROTLI_QUALITY = 5
GZIP_LEVEL = 6
# Below this a compressed body and its header save next to nothing.
SMALLEST = 512


def allow() -> None:
    """This response holds no secret an attacker could read out of its compressed size:
    it is compressed after the view (the other answers pay nothing for this)."""
    if not g.get("compress"):
        g.compress = True
        after_this_request(_compress)


def _compress(response: Response) -> Response:
    if response.status_code != 200:
        return response
    if response.direct_passthrough or response.is_streamed:
        return response
    add_vary(response, "Accept-Encoding")
    if "Accept-Encoding" not in request.headers or "Content-Encoding" in response.headers:
        return response
    accepted = request.accept_encodings
    encoding = "br" if accepted["br"] else "gzip" if accepted["gzip"] else None
    if encoding is None:
        return response
    body = response.get_data()
    if len(body) < SMALLEST:
        return response
    if encoding == "br":
        response.set_data(brotli.compress(body, quality=BROTLI_QUALITY))
    else:
        response.set_data(gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0))
    response.headers["Content-Encoding"] = encoding
    return response
