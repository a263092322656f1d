"""``Accept: text/csv`` (or ``?format=csv``): the table in the columns of its published file."""

from __future__ import annotations

import csv
import io

from rest_framework.renderers import BaseRenderer


class CSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        """The views hand over the CSV text itself; anything else is an error answer
        (``{"detail": ...}`` or a field's messages), written as a one-column table."""
        if data is None:
            return b""
        if isinstance(data, str):
            return data.encode(self.charset)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["detail"])
        items = data.items() if isinstance(data, dict) else [("detail", data)]
        for key, value in items:
            text = " ".join(str(v) for v in value) if isinstance(value, list) else str(value)
            writer.writerow([text if key == "detail" else f"{key}: {text}"])
        return out.getvalue().encode(self.charset)
