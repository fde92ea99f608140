"""The consultation response draft: DOCX and Markdown, from one content model.

>>> from safespace.response import write_docx, write_markdown   # doctest: +SKIP
>>> write_docx(assessment, "response.docx", position="subject to conditions")  # doctest: +SKIP

See ``docs/response.md``.
"""

from __future__ import annotations

from safespace.response.content import POSITIONS, Response, build_response
from safespace.response.writers import write_docx, write_markdown

__all__ = ["POSITIONS", "Response", "build_response", "write_docx", "write_markdown"]
