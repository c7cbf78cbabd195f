"""Reading console pages in view tests: text, the error shown on a field, json_script blocks."""

import html
import json
import re


def text(resp) -> str:
    return html.unescape(resp.content.decode())


def field_error(body: str, name: str) -> str:
    """The error shown inside the form field named `name` ("" when it has none)."""
    blocks = re.findall(
        r'<(div|td|fieldset) class="field[^"]*has-error"[^>]*>(.*?)</\1>', body, re.S
    )
    for _, block in blocks:
        if f'name="{name}"' in block:
            return " ".join(re.findall(r'<p class="field-error" role="alert">(.*?)</p>', block))
    return ""


def json_block(body: str, element_id: str):
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', body)
    return json.loads(match.group(1)) if match else None
