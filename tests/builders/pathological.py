"""PDFs that are valid and cost any reader dearly: what the readers must refuse early.

`inflating_pdf` is issue 10's pathological attachment: one page whose
content stream is white space, a megabyte as sent and a gigabyte once
inflated (by default), which pdfminer reads for half a minute holding two
gigabytes.  The bytes are built a chunk at a time, so building it holds
only the compressed file.
"""

from __future__ import annotations

import io
import zlib


def inflating_pdf(inflated: int = 1 << 30) -> bytes:
    """A one-page PDF whose content stream is ``inflated`` bytes of white space once
    inflated (about 1 MB as sent): a reader that inflates it whole holds 1 GB."""
    deflate = zlib.compressobj(9)
    chunk = b" " * (1 << 22)
    parts = [deflate.compress(b"BT /F1 12 Tf 72 720 Td (Referral) Tj ET\n")]
    for _ in range(inflated // len(chunk)):
        parts.append(deflate.compress(chunk))
    parts.append(deflate.flush())
    stream = b"".join(parts)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()
