"""A JSON parser with a size limit: DRF reads the body stream itself, past Django's
DATA_UPLOAD_MAX_MEMORY_SIZE, and the API's requests are all a few hundred bytes."""

import io

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_BODY_BYTES = 64 * 1024


class LimitedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        body = stream.read(MAX_BODY_BYTES + 1) if stream is not None else b""
        if len(body) > MAX_BODY_BYTES:
            raise ParseError(f"The request body is larger than {MAX_BODY_BYTES // 1024} KB.")
        return super().parse(io.BytesIO(body), media_type, parser_context)
