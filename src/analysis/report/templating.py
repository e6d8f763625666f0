"""Pages from templates: one Jinja2 environment, auto-escaping, for every page that is not a
notebook (the landing page today). Python builds the data a page shows; the template under
``report/templates/`` lays it out, and every value it prints is escaped unless the template
says otherwise (only the project's own stylesheet is).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

#: The folder of the page templates (shipped as package data).
TEMPLATE_DIR: Path = Path(__file__).resolve().parent / "templates"


@cache
def environment() -> Any:  # -> jinja2.Environment
    """The Jinja2 environment: templates from :data:`TEMPLATE_DIR`, auto-escaping on, an
    undefined name an error (a typo never renders as an empty string)."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_template(name: str, context: dict[str, Any]) -> str:
    """The text of the template ``name`` filled with ``context`` (escaped)."""
    return environment().get_template(name).render(**context)
