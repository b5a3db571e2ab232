"""How large a PDF page's drawing instructions are once inflated, without inflating them whole.

A page's content is one or more streams, usually Flate-compressed (ISO
32000-1 §7.4.4), plus the content of the form XObjects it draws (§8.10).
Every reader holds a page's content whole while it reads it, so a stream
that inflates a thousandfold (1 MB in the mail, 1 GB of white space once
read) takes a gigabyte of memory and half a minute before anything can be
refused.  `content_size` counts the inflated bytes with `zlib` in chunks,
keeping none of them, and stops as soon as the count passes ``cap``.

Streams with other filters (ASCII85, LZW, run-length) are counted as they
are stored: a form never uses them for page content, and none of them
inflates like Flate.

Example::

    if content_size(reader.pages[0], 16 << 20) > 16 << 20:
        ...  # refuse the file
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

_FLATE = ("/FlateDecode", "/Fl")
_CHUNK = 1 << 16
_MAX_FORM_DEPTH = 8  # forms drawn in forms drawn in forms...


def content_size(page: Any, cap: int) -> int:
    """Inflated bytes of ``page``'s content and its forms' content, counted up to
    a little past ``cap`` (the count stops there: compare it with ``cap``)."""
    total = 0
    for stream in _streams(page):
        total += _inflated(stream, cap - total + 1)
        if total > cap:
            break
    return total


def _resolve(obj: Any) -> Any:
    return obj.get_object() if isinstance(obj, IndirectObject) else obj


def _streams(page: Any) -> Iterator[StreamObject]:
    """The page's content streams, then those of the forms it draws (each once)."""
    contents = _resolve(page.get("/Contents"))
    items = contents if isinstance(contents, ArrayObject) else [contents]
    for item in items:
        stream = _resolve(item)
        if isinstance(stream, StreamObject):
            yield stream
    yield from _form_streams(_resolve(page.get("/Resources")), set(), 0)


def _form_streams(resources: Any, seen: set[int], depth: int) -> Iterator[StreamObject]:
    if not isinstance(resources, DictionaryObject) or depth >= _MAX_FORM_DEPTH:
        return
    xobjects = _resolve(resources.get("/XObject"))
    if not isinstance(xobjects, DictionaryObject):
        return
    for value in xobjects.values():
        form = _resolve(value)
        if not isinstance(form, StreamObject) or form.get("/Subtype") != "/Form":
            continue
        if id(form) in seen:
            continue
        seen.add(id(form))
        yield form
        yield from _form_streams(_resolve(form.get("/Resources")), seen, depth + 1)


def _inflated(stream: StreamObject, budget: int) -> int:
    """The stream's size once its Flate filters are undone, counted to ``budget``."""
    raw = stream._data  # the bytes as stored (pypdf decodes only on get_data)
    filters = _resolve(stream.get("/Filter"))
    names = (
        [str(_resolve(f)) for f in filters] if isinstance(filters, ArrayObject) else [str(filters)]
    )
    flates = 0
    for name in names if filters is not None else []:
        if name not in _FLATE:
            break
        flates += 1
    if flates == 0:
        return len(raw)
    chunks: Iterator[bytes] = iter([raw])
    for _ in range(flates):
        chunks = _inflate(chunks)
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total >= budget:
            return total
    return total


def _inflate(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Flate-decode a stream of chunks, yielding at most `_CHUNK` bytes at a time.

    A damaged stream ends where zlib gives up: what came out so far is counted
    (readers read a damaged stream that far too).
    """
    inflater = zlib.decompressobj()
    for chunk in chunks:
        pending = chunk
        while pending:
            try:
                out = inflater.decompress(pending, _CHUNK)
            except zlib.error:
                return
            pending = inflater.unconsumed_tail
            if out:
                yield out
            if inflater.eof:
                return
